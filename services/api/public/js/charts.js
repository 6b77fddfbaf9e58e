// Inline SVG and CSS charts: nothing to load, and they inherit the page's colours.
import { h, s } from './dom.js';
import { count, date, dateTime, percent } from './format.js';

/**
 * A 100% stacked bar with its legend. `parts` is [{ key, label, value }]; each part gets the CSS class
 * `fill-<key>` (the band colours).
 */
export function renderStackedBar(bar, legend, parts) {
  const total = parts.reduce((sum, part) => sum + part.value, 0);
  bar.replaceChildren(
    ...parts
      .filter((part) => part.value > 0)
      .map((part) => {
        const share = part.value / total;
        const segment = h('div', { class: `seg fill-${part.key}`, title: `${part.label}: ${count(part.value)} (${percent(share)})`, 'data-band': part.key });
        segment.style.width = `${share * 100}%`;
        if (share >= 0.06) segment.textContent = percent(share);
        return segment;
      }),
  );
  legend.replaceChildren(
    ...parts.map((part) =>
      h('span', {}, h('span', { class: `swatch fill-${part.key}` }), `${part.label} `, h('b', {}, count(part.value)), total > 0 ? ` · ${percent(part.value / total)}` : ''),
    ),
  );
}

const WIDTH = 640;
const HEIGHT = 220;
const MARGIN = { left: 34, right: 44, top: 10, bottom: 26 };

/**
 * Health (solid, left axis 0–100) and churn risk (dashed, right axis 0–100%) over time, over the health
 * bands shaded with the configured thresholds (none while they are unknown). Points are
 * { t, health, churnRisk, band }, oldest first.
 */
export function historyChart(points, thresholds) {
  if (points.length === 0) {
    return h('div', { class: 'chart-empty' }, 'No score history recorded yet: the chart fills in as the scorer records past scores.');
  }
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const first = points[0].t;
  const last = points[points.length - 1].t;
  const x = (t) => MARGIN.left + (last === first ? plotWidth / 2 : ((t - first) / (last - first)) * plotWidth);
  const y = (health) => MARGIN.top + plotHeight - (health / 100) * plotHeight;
  const bands = thresholds ? [0, thresholds.health.redBelow, thresholds.health.greenMin, 100] : [0, 100];

  const zone = (from, to, fill) =>
    s('rect', { x: MARGIN.left, width: plotWidth, y: y(to), height: y(from) - y(to), fill, 'fill-opacity': 0.09 });
  const gridLine = (value) => [
    s('line', { x1: MARGIN.left, x2: MARGIN.left + plotWidth, y1: y(value), y2: y(value), stroke: '#e4e7ec', 'stroke-width': 1 }),
    s('text', { x: MARGIN.left - 6, y: y(value) + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#667085' }, value),
    s('text', { x: MARGIN.left + plotWidth + 6, y: y(value) + 4, 'font-size': 10, fill: '#c4320a' }, `${value}%`),
  ];
  const path = (value) => points.map((point, i) => `${i === 0 ? 'M' : 'L'}${x(point.t).toFixed(1)},${y(value(point)).toFixed(1)}`).join(' ');
  const timeLabels = [...new Set([first, (first + last) / 2, last])].map((t, i, all) =>
    s('text', { x: x(t), y: HEIGHT - 8, 'font-size': 10, fill: '#667085', 'text-anchor': all.length === 1 ? 'middle' : ['start', 'middle', 'end'][i] }, date(t)),
  );

  const svg = s(
    'svg',
    { class: 'chart', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': `Health and churn risk over ${points.length} scores` },
    thresholds ? [zone(bands[0], bands[1], '#d92d20'), zone(bands[1], bands[2], '#d08700'), zone(bands[2], bands[3], '#12a150')] : [],
    bands.map(gridLine),
    s('path', { d: path((point) => point.churnRisk * 100), fill: 'none', stroke: '#c4320a', 'stroke-width': 1.5, 'stroke-dasharray': '5 4' }),
    s('path', { d: path((point) => point.health), fill: 'none', stroke: '#3b5bdb', 'stroke-width': 2.2, 'stroke-linejoin': 'round' }),
    points.map((point) =>
      s(
        'circle',
        { cx: x(point.t), cy: y(point.health), r: 3, fill: '#fff', stroke: '#3b5bdb', 'stroke-width': 1.6 },
        s('title', {}, `${dateTime(point.t)}: health ${point.health} (${point.band}), churn risk ${percent(point.churnRisk, 1)}`),
      ),
    ),
    timeLabels,
  );
  const legend = h(
    'div',
    { class: 'chart-legend' },
    h('span', {}, h('span', { class: 'line-key' }), 'Health (0–100)'),
    h('span', {}, h('span', { class: 'line-key dashed' }), 'Churn risk'),
  );
  return h('div', {}, svg, legend);
}
