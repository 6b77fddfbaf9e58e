// The dashboard: portfolio figures, the ranked customer table with filters, open alerts, a customer panel
// (scores, history chart, Insights, explanation, alerts), all kept current by the live-update stream.
import { Unauthorized, followLiveUpdates, getJson, token } from './api.js';
import { historyChart, renderStackedBar } from './charts.js';
import { byId, fact, h } from './dom.js';
import * as fmt from './format.js';
import { labelRisks, modelPanel, riskLabel, riskMeaning } from './model.js';

const PAGE_SIZE = 25;
/** Alerts the card lists at first, and at most once asked for more (the API's most: MAX_ALERTS). */
const ALERTS_SHOWN = 50;
const MAX_ALERTS_SHOWN = 500;
/** Figures and alerts are refetched at most this often while updates stream in. */
const FIGURES_REFRESH_MS = 2_000;
/** The open customer is re-read at most this often. */
const PANEL_REFRESH_MS = 500;
/**
 * A table or customer that could not be read (Redis away: the API's 503) is read again this long after, until it is:
 * the live stream may never have dropped meanwhile, and the page showed the error beside figures that had recovered.
 */
const RETRY_AFTER_ERROR_MS = 5_000;
/** Score history points the customer panel asks for: the API's most (MAX_HISTORY_POINTS), a year of back-filled days and the live scores after them. */
const HISTORY_POINTS = 500;
/** The activity types of the Insights, in the order and words the panel shows them. */
const ACTIVITY_LABELS = {
  EMAIL_SENT: 'Emails sent',
  EMAIL_RECEIVED: 'Emails received',
  CALL: 'Calls',
  MEETING: 'Meetings',
  FOLLOW_UP_TASK: 'Follow-up tasks',
  SUPPORT_TICKET_OPENED: 'Tickets opened',
  SUPPORT_TICKET_CLOSED: 'Tickets closed',
  PRODUCT_USAGE: 'Product usage',
  NPS_RESPONSE: 'NPS responses',
  CSM_SENTIMENT: 'CSM sentiment notes',
};

const view = {
  /** The rows on screen, by customerId: their data and their <tr>. */
  rows: new Map(),
  nextCursor: null,
  thresholds: null,
  /** GET /api/v1/model: the version, the horizon every churn risk is labelled with, the model card. */
  model: null,
  openCustomerId: null,
  /** Customers that changed while not on screen (they may now belong in the table). */
  changedOffscreen: new Set(),
  segments: new Set(),
  /** How many alerts the card asks for. */
  alertsShown: ALERTS_SHOWN,
  /** Which alerts the card lists: OPEN, or RESOLVED (those resolved most recently). */
  alertStatus: 'OPEN',
  /**
   * Live score updates received while the table is read, by customerId (null while no read is in flight): the read's
   * answer may be older than they are, and must not take them back.
   */
  updatesDuringRead: null,
};

// ---------------------------------------------------------------- auth

let tokenPrompt = null;

/** Asks for the token once, however many requests were refused meanwhile. */
function askForToken(refused) {
  tokenPrompt ??= new Promise((resolve) => {
    const dialog = byId('token-dialog');
    byId('token-error').hidden = !refused;
    byId('token-input').value = '';
    dialog.addEventListener(
      'close',
      () => {
        token.set(byId('token-input').value.trim());
        byId('sign-out').hidden = false;
        tokenPrompt = null;
        resolve();
      },
      { once: true },
    );
    dialog.showModal();
  });
  return tokenPrompt;
}

/** A read that asks for the token on 401 and retries with it. */
async function read(path) {
  for (;;) {
    try {
      return await getJson(path);
    } catch (error) {
      if (!(error instanceof Unauthorized)) throw error;
      await askForToken(token.get() !== null);
    }
  }
}

// ---------------------------------------------------------------- small views

/** Said in place of a churn risk for a customer without an active contract: the bands and rankings leave it out. */
const NOTHING_TO_CHURN = 'No active contract: nothing left to churn';
/** Said of the health of a customer without an active contract: shown, but in no band's colour, as the bands count it in none. */
const OUTSIDE_THE_BANDS = 'No active contract: in none of the health bands';
const healthPill = ({ band, health, underContract }) =>
  underContract
    ? h('span', { class: `pill band-${band}`, 'data-band': band }, health)
    : h('span', { class: 'pill band-none', 'data-band': band, title: OUTSIDE_THE_BANDS }, health);
const riskCell = ({ churnRisk, riskBand, underContract }) =>
  underContract
    ? h('span', { class: 'risk', title: riskMeaning(view.model) }, fmt.percent(churnRisk, 1), h('span', { class: `risk-tag risk-${riskBand}` }, riskBand))
    : h('span', { class: 'risk muted', title: NOTHING_TO_CHURN }, '—');
const stageTag = (stage) => h('span', { class: 'stage' }, fmt.stage(stage));
const renewal = (epochMs) => (epochMs === null ? h('span', { class: 'muted' }, '—') : [fmt.date(epochMs), ' ', h('span', { class: 'muted small' }, fmt.relativeDays(epochMs))]);

/** Runs `fn` once, `ms` after the first of any number of calls: a steady stream of updates still refreshes. */
function throttle(fn, ms) {
  let timer = null;
  return () => {
    timer ??= setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}

/**
 * A counter of one kind of load (the table, the figures, the alerts, the open customer). Each load takes a ticket and
 * asks it, once its answer is in, whether a later load of the same kind has started since: if so its answer is dropped.
 * Answers can arrive in any order (a slow ranking, a filter changed twice in a row), and what is shown must be what was
 * asked for last.
 */
function loadsInOrder() {
  let latest = 0;
  return () => {
    const ticket = ++latest;
    return { superseded: () => ticket !== latest };
  };
}
const tableLoads = loadsInOrder();
const statsLoads = loadsInOrder();
const alertLoads = loadsInOrder();
const panelLoads = loadsInOrder();

/** An answer worth asking for again: the API or Redis away (5xx, or no answer at all), not a request it refused. */
const retriable = (error) => error.status === undefined || error.status >= 500;

function showError(container, error) {
  container.replaceChildren(h('div', { class: 'alert-empty text-red' }, `Could not load: ${error.message}`));
}

// ---------------------------------------------------------------- portfolio figures

async function loadStats() {
  // The figures follow the table's segment, as a team lead looking at one segment expects of them.
  const segment = filterQuery().get('segment');
  const load = statsLoads();
  const stats = await read(`/api/v1/stats${segment ? `?segment=${encodeURIComponent(segment)}` : ''}`);
  if (load.superseded()) return;
  fmt.setCurrency(stats.currency);
  view.thresholds = stats.thresholds;
  byId('model-version').textContent = `model ${stats.modelVersion}`;
  byId('kpi-customers').textContent = fmt.count(stats.customers);
  byId('kpi-customers-note').textContent = segment ? `in segment ${segment}` : 'all segments';
  byId('kpi-var').textContent = fmt.compactMoney(stats.valueAtRisk.total);
  byId('kpi-var-note').textContent = `across ${fmt.plural(stats.valueAtRisk.customersAtRisk, 'customer')}`;
  // Bands count the customers under contract, the ones that can still churn: a churned customer or a prospect is in none.
  const ofUnderContract = (count) =>
    stats.customersUnderContract ? `${fmt.percent(count / stats.customersUnderContract)} of ${fmt.count(stats.customersUnderContract)} under contract` : '';
  byId('kpi-red').textContent = fmt.count(stats.bands.red);
  byId('kpi-red-note').textContent = ofUnderContract(stats.bands.red);
  byId('kpi-high').textContent = fmt.count(stats.riskBands.high);
  byId('kpi-high-note').textContent = ofUnderContract(stats.riskBands.high);
  renderStackedBar(byId('band-distribution'), byId('band-legend'), [
    { key: 'green', label: `Green ≥ ${stats.thresholds.health.greenMin}`, value: stats.bands.green },
    { key: 'yellow', label: 'Yellow', value: stats.bands.yellow },
    { key: 'red', label: `Red < ${stats.thresholds.health.redBelow}`, value: stats.bands.red },
  ]);
  renderStackedBar(byId('risk-distribution'), byId('risk-legend'), [
    { key: 'low', label: 'Low', value: stats.riskBands.low },
    { key: 'medium', label: `Medium ≥ ${fmt.percent(stats.thresholds.risk.mediumMin)}`, value: stats.riskBands.medium },
    { key: 'high', label: `High ≥ ${fmt.percent(stats.thresholds.risk.highMin)}`, value: stats.riskBands.high },
  ]);
}

function alertItem(alert, { showCustomer }) {
  return h(
    'li',
    { 'data-alert-id': alert.alertId },
    h('span', { class: `severity severity-${alert.severity}` }, alert.severity),
    h(
      'span',
      {},
      h('span', { class: 'alert-type' }, fmt.humanize(alert.alertType)),
      showCustomer ? [' · ', h('a', { href: `#customer=${encodeURIComponent(alert.customerId)}` }, alert.customerId)] : '',
    ),
    h('span', { class: 'muted small' }, alert.status === 'OPEN' ? `opened ${fmt.relativeDays(alert.openedAt)}` : `resolved ${fmt.relativeDays(alert.resolvedAt)}`),
    h('span', { class: 'alert-reason' }, `${alert.reason} · value at risk ${fmt.money(alert.valueAtRisk)}`),
  );
}

async function loadAlerts() {
  const list = byId('alerts');
  const load = alertLoads();
  const status = view.alertStatus;
  try {
    // The open alerts' count is a figure of the portfolio, whichever alerts the card lists.
    const [open, page] = await Promise.all([
      read(`/api/v1/alerts?status=OPEN&limit=${status === 'OPEN' ? view.alertsShown : 1}`),
      status === 'OPEN' ? null : read(`/api/v1/alerts?status=${status}&limit=${view.alertsShown}`),
    ]);
    if (load.superseded()) return;
    byId('kpi-alerts').textContent = `${fmt.count(open.total)}${open.complete ? '' : '+'}`;
    byId('kpi-alerts-note').textContent = open.complete ? 'across all customers' : `among the top ${fmt.count(open.scannedCustomers)} at risk`;
    const listed = page ?? open;
    const order = status === 'OPEN' ? 'most urgent' : 'most recently resolved';
    // The card lists the first in that order; the rest are a click away rather than silently left out.
    const more =
      listed.total > listed.items.length
        ? [
            h(
              'li',
              { class: 'alert-more' },
              h('span', { class: 'muted' }, `The ${fmt.count(listed.items.length)} ${order} of ${fmt.count(listed.total)} shown`),
              view.alertsShown < MAX_ALERTS_SHOWN ? h('button', { type: 'button', class: 'link', onclick: showMoreAlerts }, 'show more') : '',
            ),
          ]
        : [];
    const none = status === 'OPEN' ? 'No open alerts.' : 'No alert resolved yet.';
    list.replaceChildren(
      ...(listed.items.length ? listed.items.map((alert) => alertItem(alert, { showCustomer: true })) : [h('li', { class: 'alert-empty' }, none)]),
      ...more,
    );
  } catch (error) {
    if (!load.superseded()) showError(list, error);
  }
}

function showAlerts(status) {
  view.alertStatus = status;
  view.alertsShown = ALERTS_SHOWN;
  for (const button of document.querySelectorAll('[data-alert-status]')) button.setAttribute('aria-pressed', String(button.dataset.alertStatus === status));
  loadAlerts();
}

function showMoreAlerts() {
  view.alertsShown = MAX_ALERTS_SHOWN;
  loadAlerts();
}

// ---------------------------------------------------------------- churn model

async function loadModel() {
  try {
    view.model = await read('/api/v1/model');
    byId('model-card-version').textContent = view.model.version;
    byId('model-card').replaceChildren(modelPanel(view.model));
  } catch (error) {
    showError(byId('model-card'), error);
  }
  labelRisks(document, view.model);
}

const refreshFigures = throttle(() => Promise.all([loadStats(), loadAlerts()]).catch((error) => console.warn(error)), FIGURES_REFRESH_MS);

// ---------------------------------------------------------------- ranked table

function filterQuery() {
  const form = new FormData(byId('filters'));
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const [name, value] of form) if (String(value).trim() !== '') query.set(name, String(value).trim());
  if (query.get('sort') === 'health') query.set('order', 'asc');
  return query;
}

function rowCells(row) {
  return [
    h('td', {}, h('span', { class: 'customer-name' }, row.customerId)),
    h('td', {}, row.segment ?? h('span', { class: 'muted' }, '—')),
    h('td', { 'data-col': 'health' }, healthPill(row)),
    h('td', { 'data-col': 'risk' }, riskCell(row)),
    h('td', {}, stageTag(row.lifecycleStage)),
    h('td', { class: 'num', 'data-col': 'valueAtRisk' }, fmt.money(row.valueAtRisk)),
    h('td', {}, renewal(row.nextRenewalAt)),
  ];
}

function appendRows(rows) {
  const body = byId('customers').tBodies[0];
  for (const row of rows) {
    const tr = h('tr', { 'data-customer-id': row.customerId, tabindex: 0 }, rowCells(row));
    view.rows.set(row.customerId, { row, tr });
    body.append(tr);
    if (row.segment) view.segments.add(row.segment);
  }
  byId('segments').replaceChildren(...[...view.segments].sort().map((segment) => h('option', { value: segment })));
}

/** Filters that pick rows out of the ranking shown (a segment has a ranking of its own: its total is the segment's). */
const ROW_FILTERS = ['band', 'riskBand', 'stage'];

function updateTableFooter(total) {
  const shown = view.rows.size;
  const query = filterQuery();
  const segment = query.get('segment');
  const ranked = `${fmt.plural(total, 'customer')} ranked${segment ? ` in segment ${segment}` : ''}`;
  // The total is the ranking's, before the filters: said so, lest it read as the number of customers that match.
  const filtered = ROW_FILTERS.some((name) => query.has(name));
  byId('table-status').textContent = `${fmt.count(shown)} shown · ${filtered ? `filtered from ${ranked}` : ranked}`;
  byId('load-more').hidden = view.nextCursor === null;
  const changed = view.changedOffscreen.size;
  byId('more-changes').hidden = changed === 0;
  byId('more-changes').textContent = `${fmt.plural(changed, 'customer')} not shown changed · refresh`;
}

let tableTotal = 0;

async function loadTable({ append = false } = {}) {
  const body = byId('customers').tBodies[0];
  const query = filterQuery();
  if (append && view.nextCursor) query.set('cursor', view.nextCursor);
  const load = tableLoads();
  view.updatesDuringRead = new Map();
  try {
    const page = await read(`/api/v1/customers?${query}`);
    if (load.superseded()) return;
    const updates = view.updatesDuringRead;
    view.updatesDuringRead = null;
    if (!append) {
      view.rows.clear();
      view.changedOffscreen.clear();
      body.replaceChildren();
    }
    view.nextCursor = page.nextCursor;
    tableTotal = page.total;
    // An update received during the read stands over an older answer, as it stood on the row shown before.
    const rows = page.items.map((item) => {
      const update = updates.get(item.customerId);
      return update !== undefined && update.version > item.version ? withUpdate(item, update) : item;
    });
    const listed = new Set(rows.map((row) => row.customerId));
    for (const customerId of updates.keys()) if (!listed.has(customerId) && !view.rows.has(customerId)) view.changedOffscreen.add(customerId);
    for (const row of rows) if (!matchesFilters(row)) view.changedOffscreen.add(row.customerId);
    appendRows(rows.filter(matchesFilters));
    if (view.rows.size === 0) {
      const filtered = ['band', 'riskBand', 'segment', 'stage'].some((filter) => query.has(filter));
      body.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: 7 }, filtered ? 'No customers match these filters.' : 'No customer has a score yet.')));
    }
    updateTableFooter(tableTotal);
  } catch (error) {
    if (load.superseded()) return;
    view.updatesDuringRead = null;
    if (!append) {
      // What was shown belongs to other filters: neither its count nor its cursor goes with this message.
      view.rows.clear();
      view.changedOffscreen.clear();
      view.nextCursor = null;
      byId('table-status').textContent = '';
      byId('load-more').hidden = true;
      byId('more-changes').hidden = true;
    }
    body.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: 7, class: 'text-red' }, `Could not load customers: ${error.message}`)));
    // Read again unless another read (a filter changed) has started since.
    if (retriable(error)) {
      setTimeout(() => {
        if (!load.superseded()) loadTable({ append });
      }, RETRY_AFTER_ERROR_MS);
    }
  }
}

/** A table row as a live score change leaves it. */
const withUpdate = (row, update) => ({
  ...row,
  ...update.current,
  segment: update.segment,
  version: update.version,
  computedAt: update.computedAt,
  underContract: update.underContract,
  // A renewal is an active contract's end: without one there is none.
  nextRenewalAt: update.underContract ? row.nextRenewalAt : null,
});

/** A live score change: the row is updated where it stands (the ranking is re-read on refresh). */
function applyScoreUpdate(update) {
  view.updatesDuringRead?.set(update.customerId, update);
  const entry = view.rows.get(update.customerId);
  if (!entry) {
    view.changedOffscreen.add(update.customerId);
    updateTableFooter(tableTotal);
    return;
  }
  entry.row = withUpdate(entry.row, update);
  if (!matchesFilters(entry.row)) {
    // No longer one of the customers asked for: it leaves the table, and the refresh note counts it.
    removeCustomer(update.customerId, { keepPanel: true });
    view.changedOffscreen.add(update.customerId);
    updateTableFooter(tableTotal);
    return;
  }
  entry.tr.replaceChildren(...rowCells(entry.row));
  entry.tr.classList.remove('row-updated');
  void entry.tr.offsetWidth; // restart the highlight animation
  entry.tr.classList.add('row-updated');
}

function removeCustomer(customerId, { keepPanel = false } = {}) {
  view.rows.get(customerId)?.tr.remove();
  view.rows.delete(customerId);
  if (!keepPanel && view.openCustomerId === customerId) closePanel();
}

/** The ranking that holds every scored customer; the others hold those under contract (docs/redis-contract.md, Rankings). */
const EVERY_CUSTOMER_RANKING = 'valueAtRisk';

/** Whether a row still answers the table's ranking and filters (the ranking's own segment included). */
function matchesFilters(row) {
  const query = filterQuery();
  if (!row.underContract && query.get('sort') !== EVERY_CUSTOMER_RANKING) return false;
  // Bands are those of customers under contract, as the API filters them.
  const wanted = { band: row.underContract ? row.band : null, riskBand: row.underContract ? row.riskBand : null, stage: row.lifecycleStage, segment: row.segment };
  return Object.entries(wanted).every(([name, value]) => !query.has(name) || query.get(name) === value);
}

// ---------------------------------------------------------------- customer panel

function scoreCard(detail) {
  const figure = (labelText, value, note, title) =>
    h('div', { class: 'score-figure', title }, h('div', { class: 'kpi-label' }, labelText), h('div', { class: 'kpi-value' }, value), h('div', { class: 'kpi-note' }, note));
  return h(
    'section',
    { class: 'card' },
    h(
      'div',
      { class: 'score-head' },
      figure('Health', healthPill(detail), detail.underContract ? `${detail.band} band` : 'no active contract'),
      detail.underContract
        ? figure(riskLabel(view.model), fmt.percent(detail.churnRisk, 1), h('span', { class: `risk-tag risk-${detail.riskBand}` }, detail.riskBand), riskMeaning(view.model))
        : figure(riskLabel(view.model), '—', 'no active contract', NOTHING_TO_CHURN),
      figure('Value at risk', fmt.money(detail.valueAtRisk), `of ${fmt.money(detail.insights?.totalContractValue ?? 0)} contracted`),
      figure('Lifecycle', stageTag(detail.lifecycleStage), `scorecard ${detail.explanation.scorecardId}`),
    ),
  );
}

function insightsCard(insights) {
  if (insights === null) return h('section', { class: 'card' }, h('h2', {}, 'Insights'), h('p', { class: 'muted' }, 'No aggregates stored.'));
  const types = Object.keys(ACTIVITY_LABELS);
  const max365 = Math.max(1, ...types.map((type) => insights.activity[type].d365));
  const activity = h(
    'table',
    { class: 'compact' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Activity'), h('th', { class: 'num' }, '30 days'), h('th', { class: 'num' }, '365 days'))),
    h(
      'tbody',
      {},
      types.map((type) => {
        const counts = insights.activity[type];
        const bar = h('span', { class: 'bar' });
        bar.style.width = `${(counts.d365 / max365) * 100}%`;
        return h(
          'tr',
          { 'data-activity': type },
          h('td', {}, ACTIVITY_LABELS[type]),
          h('td', { class: 'num' }, fmt.count(counts.d30)),
          h('td', { class: 'num' }, h('span', { class: 'bar-value' }, fmt.count(counts.d365)), h('span', { class: 'bar-track' }, bar)),
        );
      }),
    ),
  );
  const winRate =
    insights.winRate365 === null ? '–' : `${fmt.percent(insights.winRate365)} (${insights.won365} won / ${insights.lost365} lost)`;
  const facts = h(
    'div',
    { class: 'facts' },
    fact('Open pipeline', fmt.money(insights.openPipelineAmount), fmt.plural(insights.openOpportunities, 'open opportunity', 'open opportunities')),
    fact('Weighted pipeline', fmt.money(insights.weightedPipelineAmount), fmt.plural(insights.openQuotes, 'open quote')),
    fact('Win rate (365 d)', winRate, `won ${fmt.money(insights.wonAmount365)} · lost ${fmt.money(insights.lostAmount365)}`),
    fact('Total contract value', fmt.money(insights.totalContractValue), fmt.plural(insights.activeContracts, 'active contract')),
    fact('Next renewal', fmt.date(insights.nextRenewalAt), fmt.relativeDays(insights.nextRenewalAt)),
    fact('Cancelled (365 d)', fmt.count(insights.cancelled365)),
    fact('Open tickets', fmt.count(insights.openTickets), `${fmt.plural(insights.slaBreaches90, 'SLA breach', 'SLA breaches')} in 90 d`),
    fact('Latest NPS', insights.latestNps ?? '–'),
    fact('CSM sentiment', insights.latestCsmSentiment ?? '–', '−2 … +2'),
    // The customer's own activity is what silence and NO_RECENT_ACTIVITY count; ours (emails, tasks) ends none: shown
    // alone, "last activity today" (our chasing email) stood beside the alert "no activity for 30 days".
    fact('Last activity of the customer', fmt.date(insights.lastCustomerActivityAt), fmt.relativeDays(insights.lastCustomerActivityAt)),
    fact('Last activity, ours included', fmt.date(insights.lastActivityAt), fmt.relativeDays(insights.lastActivityAt)),
    fact('Last inbound', fmt.date(insights.lastInboundAt), fmt.relativeDays(insights.lastInboundAt)),
  );
  return h(
    'section',
    { class: 'card', 'data-testid': 'insights' },
    h('h2', {}, 'Insights'),
    h('p', { class: 'muted' }, `As of ${fmt.dateTime(insights.asOf)}: every event applied by then.`),
    h('div', { class: 'two-col' }, activity, facts),
  );
}

function explanationCard(explanation, computedAt) {
  const maxContribution = Math.max(1, ...explanation.measures.map((m) => m.contribution));
  const groups = Map.groupBy(explanation.measures, (measure) => measure.group);
  const measureRows = [...groups].flatMap(([group, measures]) => [
    h('tr', { class: 'group-row' }, h('td', { colspan: 5 }, group)),
    ...measures.map((m) => {
      const bar = h('span', { class: 'bar' });
      bar.style.width = `${(m.contribution / maxContribution) * 100}%`;
      return h(
        'tr',
        { class: m.score === null ? 'excluded' : '', 'data-measure': m.measureId },
        h('td', {}, fmt.label(m.measureId)),
        h('td', { class: 'num' }, m.rawValue === null ? 'no data' : fmt.number(m.rawValue)),
        h('td', { class: 'num' }, m.score === null ? '–' : fmt.number(m.score, 0)),
        h('td', { class: 'num' }, fmt.percent(m.weight, 1)),
        h('td', { class: 'num' }, h('span', { class: 'bar-value' }, fmt.number(m.contribution, 1)), h('span', { class: 'bar-track' }, bar)),
      );
    }),
  ]);
  const drivers = explanation.topDrivers.length
    ? h(
        'ul',
        { class: 'drivers' },
        explanation.topDrivers.map((driver) => {
          // A measure's impact is in health points (up is good); a churn feature's in churn risk (up is bad).
          const good = driver.kind === 'measure' ? driver.impact > 0 : driver.impact < 0;
          return h('li', {}, h('span', { class: good ? 'text-green' : 'text-red' }, good ? '▲' : '▼'), h('span', {}, driver.text));
        }),
      )
    : // A score is published for more than its measures and features: its value at risk, segment or stage, an alert.
      h(
        'p',
        { class: 'muted' },
        'No measure or churn feature moved enough to name: the score was published for another change (value at risk, segment, lifecycle stage, model, an alert), or it is the first score of the customer or of its loaded history.',
      );
  const churnFeatures = h(
    'table',
    { class: 'compact' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Churn feature'), h('th', { class: 'num' }, 'Value'), h('th', { class: 'num' }, 'Coefficient'), h('th', { class: 'num' }, 'Logit'))),
    h(
      'tbody',
      {},
      explanation.churnFeatures.map((f) =>
        h('tr', {}, h('td', {}, fmt.label(f.feature)), h('td', { class: 'num' }, fmt.number(f.value)), h('td', { class: 'num' }, fmt.number(f.coefficient, 3)), h('td', { class: 'num' }, fmt.number(f.logitContribution))),
      ),
    ),
  );
  return h(
    'section',
    { class: 'card', 'data-testid': 'explanation' },
    h('h2', {}, 'Why this score'),
    // The explanation is the published score's; the Insights follow every event, also those too small to publish a
    // score: the two differ until the next published change (an outside tester read 187 replies here, 292 there).
    h('p', { class: 'muted' }, `As of the published score, ${fmt.dateTime(computedAt)}: the raw values it was computed from. Events since that moved it too little to publish are in the Insights above, not here.`),
    h(
      'table',
      { class: 'compact' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Measure'), h('th', { class: 'num' }, 'Raw value'), h('th', { class: 'num' }, 'Score'), h('th', { class: 'num' }, 'Weight'), h('th', { class: 'num' }, 'Contribution'))),
      h('tbody', {}, measureRows),
    ),
    h('h3', {}, 'Top drivers since the previous score'),
    drivers,
    h('h3', {}, 'Churn model'),
    churnFeatures,
  );
}

function customerAlertsCard(alerts) {
  const items = [...alerts.open, ...alerts.recentlyResolved];
  return h(
    'section',
    { class: 'card', 'data-testid': 'customer-alerts' },
    h('h2', {}, `Alerts · ${alerts.open.length} open`),
    items.length
      ? h('ul', { class: 'alert-list' }, items.map((alert) => alertItem(alert, { showCustomer: false })))
      : h('p', { class: 'muted' }, 'No alerts.'),
  );
}

async function renderPanel(customerId) {
  const load = panelLoads();
  const [detail, history] = await Promise.all([
    // The id as a query value: in a path, the ids `.` and `..` would be resolved away as dot segments.
    read(`/api/v1/customer?customerId=${encodeURIComponent(customerId)}`),
    read(`/api/v1/customer/history?customerId=${encodeURIComponent(customerId)}&limit=${HISTORY_POINTS}`),
  ]);
  if (load.superseded() || view.openCustomerId !== customerId) return; // read again since, or another customer opened
  byId('panel-title').textContent = customerId;
  byId('panel-sub').textContent = [
    detail.segment ?? 'no segment',
    fmt.stage(detail.lifecycleStage),
    // The score's version orders a subscriber's events, and means nothing to a reader: the model's does.
    `model ${detail.modelVersion}`,
    `computed ${fmt.dateTime(detail.computedAt)}`,
  ].join(' · ');
  byId('panel-body').replaceChildren(
    scoreCard(detail),
    h('section', { class: 'card', 'data-testid': 'history-chart' }, h('h2', {}, 'Score over time'), historyChart(history.points, view.thresholds, riskLabel(view.model))),
    insightsCard(detail.insights),
    explanationCard(detail.explanation, detail.computedAt),
    customerAlertsCard(detail.alerts),
  );
  byId('panel').dataset.version = String(detail.version);
}

async function openPanel(customerId) {
  view.openCustomerId = customerId;
  byId('panel').hidden = false;
  byId('scrim').hidden = false;
  byId('panel-title').textContent = customerId;
  byId('panel-sub').textContent = 'Loading…';
  byId('panel-body').replaceChildren();
  try {
    await renderPanel(customerId);
  } catch (error) {
    if (view.openCustomerId !== customerId) return;
    byId('panel-sub').textContent = '';
    showError(byId('panel-body'), error.status === 404 ? new Error('this customer has no score (unknown, or erased)') : error);
    // A customer that has no score stays so until a live update says otherwise; a read that failed is tried again.
    if (retriable(error)) setTimeout(() => view.openCustomerId === customerId && openPanel(customerId), RETRY_AFTER_ERROR_MS);
  }
}

function closePanel() {
  view.openCustomerId = null;
  byId('panel').hidden = true;
  byId('scrim').hidden = true;
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
}

/** The open customer follows the URL hash (#customer=<id>), so a customer view can be linked and bookmarked. */
function followHash() {
  const customerId = new URLSearchParams(location.hash.slice(1)).get('customer');
  if (customerId) openPanel(customerId);
  else if (view.openCustomerId) closePanel();
}

const refreshPanel = throttle(() => {
  if (view.openCustomerId) renderPanel(view.openCustomerId).catch((error) => console.warn(error));
}, PANEL_REFRESH_MS);

// ---------------------------------------------------------------- live updates

function setLive(state, text) {
  const live = byId('live');
  live.className = `live live-${state}`;
  live.querySelector('.live-label').textContent = text;
  live.dataset.state = state;
}

function startLiveUpdates() {
  let streamOpen = false;
  followLiveUpdates({
    onOpen() {
      // Whatever changed while the stream was down is read again.
      if (!streamOpen && view.rows.size > 0) {
        loadTable();
        refreshFigures();
      }
      streamOpen = true;
    },
    onDown() {
      streamOpen = false;
      setLive('error', 'Reconnecting…');
    },
    onUnauthorized: () => askForToken(true).then(startLiveUpdates),
    onEvent(event, data) {
      if (event === 'status') setLive(data.live ? 'on' : 'off', data.live ? 'Live' : 'Waiting for updates…');
      else if (event === 'score') {
        applyScoreUpdate(data);
        if (data.customerId === view.openCustomerId) refreshPanel();
        refreshFigures();
      } else if (event === 'alert') {
        if (data.customerId === view.openCustomerId) refreshPanel();
        refreshFigures();
      } else if (event === 'erased') {
        // Shown, it was in the ranking the total counts; not shown, it may have been: the refresh note counts it.
        if (view.rows.has(data.customerId)) tableTotal = Math.max(0, tableTotal - 1);
        else view.changedOffscreen.add(data.customerId);
        removeCustomer(data.customerId);
        updateTableFooter(tableTotal);
        refreshFigures();
      }
    },
  });
}

// ---------------------------------------------------------------- wiring

function wire() {
  const filtersChanged = () => {
    loadTable();
    loadStats().catch((error) => console.warn(error));
  };
  byId('filters').addEventListener('change', filtersChanged);
  byId('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    filtersChanged();
  });
  byId('load-more').addEventListener('click', () => loadTable({ append: true }));
  for (const button of document.querySelectorAll('[data-alert-status]')) button.addEventListener('click', () => showAlerts(button.dataset.alertStatus));
  byId('more-changes').addEventListener('click', () => loadTable());
  const tbody = byId('customers').tBodies[0];
  const open = (event) => {
    const tr = event.target.closest('tr[data-customer-id]');
    if (tr) location.hash = `customer=${encodeURIComponent(tr.dataset.customerId)}`;
  };
  tbody.addEventListener('click', open);
  tbody.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') open(event);
  });
  byId('panel-close').addEventListener('click', closePanel);
  byId('scrim').addEventListener('click', closePanel);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && view.openCustomerId) closePanel();
  });
  window.addEventListener('hashchange', followHash);
  byId('sign-out').hidden = token.get() === null;
  byId('sign-out').addEventListener('click', () => {
    token.clear();
    location.reload();
  });
}

async function main() {
  wire();
  await Promise.all([loadStats().catch((error) => showError(byId('band-legend'), error)), loadModel()]);
  await Promise.all([loadTable(), loadAlerts()]);
  followHash();
  startLiveUpdates();
}

main();
