// Inline SVG and CSS charts: nothing to load, and they inherit the page's colours.
import { h, s } from './dom.js';
import { count, date, dateTime, percent, plural } from './format.js';

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

const GRID_STROKE = '#e4e7ec';
const AXIS_TEXT = '#667085';
const HEALTH_STROKE = '#3b5bdb';
const RISK_STROKE = '#c4320a';
/** Points computed from the event history are drawn at this opacity: the same lines, told apart from live scores. */
const BACKFILLED_OPACITY = 0.4;

/**
 * Health (solid, left axis 0–100) and churn risk (dashed, right axis 0–100%) over time, over the health
 * bands shaded with the configured thresholds (none while they are unknown). Points are
 * { t, health, churnRisk, band, backfilled? }, oldest first: the back-filled ones (computed from the event history,
 * before the first live score) come first and are drawn lighter over a shaded span, without a marker each, so that
 * a year of daily points reads as a trend; the live ones carry a marker with their figures. `riskLabel` names the
 * churn risk with its horizon.
 */
export function historyChart(points, thresholds, riskLabel = 'Churn risk') {
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
  const backfilled = points.filter((point) => point.backfilled === true);
  const live = points.filter((point) => point.backfilled !== true);

  const zone = (from, to, fill) =>
    s('rect', { x: MARGIN.left, width: plotWidth, y: y(to), height: y(from) - y(to), fill, 'fill-opacity': 0.09 });
  const gridLine = (value) => [
    s('line', { x1: MARGIN.left, x2: MARGIN.left + plotWidth, y1: y(value), y2: y(value), stroke: GRID_STROKE, 'stroke-width': 1 }),
    s('text', { x: MARGIN.left - 6, y: y(value) + 4, 'text-anchor': 'end', 'font-size': 10, fill: AXIS_TEXT }, value),
    s('text', { x: MARGIN.left + plotWidth + 6, y: y(value) + 4, 'font-size': 10, fill: RISK_STROKE }, `${value}%`),
  ];
  const path = (series, value) => series.map((point, i) => `${i === 0 ? 'M' : 'L'}${x(point.t).toFixed(1)},${y(value(point)).toFixed(1)}`).join(' ');
  // Health and risk lines of a series; `attributes` tell the back-filled ones apart.
  const lines = (series, attributes) => [
    s('path', { d: path(series, (point) => point.churnRisk * 100), fill: 'none', stroke: RISK_STROKE, 'stroke-width': 1.5, 'stroke-dasharray': '5 4', ...attributes }),
    s('path', { d: path(series, (point) => point.health), fill: 'none', stroke: HEALTH_STROKE, 'stroke-width': 2.2, 'stroke-linejoin': 'round', ...attributes }),
  ];
  const timeLabels = [...new Set([first, (first + last) / 2, last])].map((t, i, all) =>
    s('text', { x: x(t), y: HEIGHT - 8, 'font-size': 10, fill: AXIS_TEXT, 'text-anchor': all.length === 1 ? 'middle' : ['start', 'middle', 'end'][i] }, date(t)),
  );
  const backfilledSpan = () => {
    const from = x(backfilled[0].t);
    const to = x(backfilled[backfilled.length - 1].t);
    return s(
      'g',
      { class: 'backfilled-span' },
      s('rect', { x: from, width: Math.max(to - from, 1), y: MARGIN.top, height: plotHeight, fill: AXIS_TEXT, 'fill-opacity': 0.06 }),
      s('text', { x: from + 4, y: MARGIN.top + 11, 'font-size': 10, fill: AXIS_TEXT }, 'computed from history'),
      s('title', {}, `Computed from the event history: ${plural(backfilled.length, 'score')}, ${date(backfilled[0].t)} – ${date(backfilled[backfilled.length - 1].t)}`),
    );
  };

  const svg = s(
    'svg',
    {
      class: 'chart',
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: 'img',
      'aria-label': `Health and churn risk over ${plural(points.length, 'score')}${backfilled.length ? `, ${count(backfilled.length)} computed from history` : ''}`,
    },
    thresholds ? [zone(bands[0], bands[1], '#d92d20'), zone(bands[1], bands[2], '#d08700'), zone(bands[2], bands[3], '#12a150')] : [],
    bands.map(gridLine),
    backfilled.length ? [backfilledSpan(), lines(backfilled, { class: 'backfilled-line', 'stroke-opacity': BACKFILLED_OPACITY })] : [],
    // The live lines start from the last back-filled point, so the two read as one path.
    live.length ? lines([...backfilled.slice(-1), ...live], { class: 'live-line' }) : [],
    live.map((point) =>
      s(
        'circle',
        { cx: x(point.t), cy: y(point.health), r: 3, fill: '#fff', stroke: HEALTH_STROKE, 'stroke-width': 1.6 },
        s('title', {}, `${dateTime(point.t)}: health ${point.health} (${point.band}), churn risk ${percent(point.churnRisk, 1)}`),
      ),
    ),
    timeLabels,
  );
  const legend = h(
    'div',
    { class: 'chart-legend' },
    h('span', {}, h('span', { class: 'line-key' }), 'Health (0–100)'),
    h('span', {}, h('span', { class: 'line-key dashed' }), riskLabel),
    backfilled.length ? h('span', { 'data-legend': 'backfilled' }, h('span', { class: 'span-key' }), 'Computed from history') : '',
  );
  return h('div', {}, svg, legend);
}

const CALIBRATION_SIZE = 260;
const CALIBRATION_MARGIN = { left: 44, right: 12, top: 10, bottom: 36 };

/**
 * A model's calibration: the observed churn rate against the mean predicted risk, one point per bin (deciles of
 * predicted risk), over the diagonal a calibrated model lies on. Both axes run from 0 to the highest value rounded
 * up to a tenth, so the diagonal keeps its 45°. Bins are { from, to, count, meanPredicted, observedRate }.
 */
export function calibrationChart(bins) {
  const plot = CALIBRATION_SIZE - CALIBRATION_MARGIN.left - CALIBRATION_MARGIN.right;
  const top = Math.min(1, Math.ceil(Math.max(0.05, ...bins.flatMap((bin) => [bin.meanPredicted, bin.observedRate])) * 10) / 10);
  const x = (share) => CALIBRATION_MARGIN.left + (share / top) * plot;
  const y = (share) => CALIBRATION_MARGIN.top + plot - (share / top) * plot;
  const ticks = [0, top / 2, top];
  const points = bins.map((bin) => `${x(bin.meanPredicted).toFixed(1)},${y(bin.observedRate).toFixed(1)}`).join(' ');
  return s(
    'svg',
    {
      class: 'chart calibration-chart',
      viewBox: `0 0 ${CALIBRATION_SIZE} ${CALIBRATION_SIZE}`,
      role: 'img',
      'aria-label': `Calibration: observed churn rate against predicted risk in ${plural(bins.length, 'bin')}`,
    },
    ticks.map((tick) => [
      s('line', { x1: x(0), x2: x(top), y1: y(tick), y2: y(tick), stroke: GRID_STROKE, 'stroke-width': 1 }),
      s('text', { x: x(0) - 6, y: y(tick) + 4, 'text-anchor': 'end', 'font-size': 10, fill: AXIS_TEXT }, percent(tick)),
      s('text', { x: x(tick), y: y(0) + 14, 'text-anchor': 'middle', 'font-size': 10, fill: AXIS_TEXT }, percent(tick)),
    ]),
    s('line', { class: 'calibration-diagonal', x1: x(0), y1: y(0), x2: x(top), y2: y(top), stroke: AXIS_TEXT, 'stroke-width': 1, 'stroke-dasharray': '4 4' }),
    s('polyline', { points, fill: 'none', stroke: HEALTH_STROKE, 'stroke-width': 1.6 }),
    bins.map((bin) =>
      s(
        'circle',
        { class: 'calibration-bin', cx: x(bin.meanPredicted), cy: y(bin.observedRate), r: 3.5, fill: HEALTH_STROKE },
        s(
          'title',
          {},
          `Predicted ${percent(bin.meanPredicted, 1)}, churned ${percent(bin.observedRate, 1)}: ${plural(bin.count, 'snapshot')} with a risk of ${percent(bin.from, 1)}–${percent(bin.to, 1)}`,
        ),
      ),
    ),
    s('text', { x: x(top / 2), y: CALIBRATION_SIZE - 4, 'text-anchor': 'middle', 'font-size': 10, fill: AXIS_TEXT }, 'Predicted risk'),
    s('text', { x: 10, y: y(top / 2), 'text-anchor': 'middle', 'font-size': 10, fill: AXIS_TEXT, transform: `rotate(-90 10 ${y(top / 2)})` }, 'Churned within the horizon'),
  );
}
