// A tiny element builder: text always goes in as text nodes, so nothing the API returns is parsed as HTML.
const SVG_NS = 'http://www.w3.org/2000/svg';

function build(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** h('td', { class: 'num' }, 'text', otherNode) */
export const h = (tag, attributes, ...children) => build(document.createElement(tag), attributes, children);

/** The same for SVG elements. */
export const s = (tag, attributes, ...children) => build(document.createElementNS(SVG_NS, tag), attributes, children);

export const byId = (id) => document.getElementById(id);

/** A labelled figure of a facts grid, with an optional note under it. */
export const fact = (labelText, value, note) =>
  h('div', {}, h('div', { class: 'fact-label' }, labelText), h('div', { class: 'fact-value' }, value), note ? h('div', { class: 'fact-note' }, note) : '');
