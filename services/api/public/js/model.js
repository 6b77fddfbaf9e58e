// The churn model the scores come from (GET /api/v1/model): the horizon every risk on the page is labelled with,
// and the model card: when and on what it was trained, how well it ranks and how calibrated it is.
import { calibrationChart } from './charts.js';
import { fact, h } from './dom.js';
import * as fmt from './format.js';

/** "Churn risk (90 days)"; plain "Churn risk" while the model is unknown. */
export const riskLabel = (model) => (model ? `Churn risk (${model.horizonDays} days)` : 'Churn risk');

/** What a churn risk means, for tooltips: "Probability of churning within 90 days". */
export const riskMeaning = (model) => (model ? `Probability of churning within ${model.horizonDays} days` : 'Probability of churning');

/** Labels every element marked data-risk-label with the horizon, and gives every data-risk-label or data-risk-meaning its meaning as a tooltip. */
export function labelRisks(root, model) {
  for (const element of root.querySelectorAll('[data-risk-label]')) element.textContent = riskLabel(model);
  for (const element of root.querySelectorAll('[data-risk-label], [data-risk-meaning]')) element.title = riskMeaning(model);
}

const auc = (value) => fmt.number(value, 3);

function samplesNote({ snapshots, customers, churners }) {
  return `${fmt.count(snapshots)} snapshots of ${fmt.plural(customers, 'customer')}, ${fmt.count(churners)} churning`;
}

/** Where an adapted model's rate comes from: the base's settled outcomes, or the risks of its customers under contract. */
function adaptationSource({ outcomes, customers, observedUntil }) {
  return outcomes
    ? `measured on ${fmt.count(outcomes.snapshots)} settled snapshots of ${fmt.plural(customers, 'customer')}, ${fmt.count(outcomes.churningCustomers)} churning, ` +
        `from ${fmt.date(Date.parse(outcomes.firstAsOf))} to ${fmt.date(Date.parse(outcomes.lastAsOf))}`
    : `estimated without labels from ${fmt.plural(customers, 'customer')} under contract on ${fmt.date(Date.parse(observedUntil))}`;
}

/** The card's figures and its calibration chart; a plain statement when the loaded config has no card. */
export function modelPanel(model) {
  const { card } = model;
  if (card === null) {
    return h(
      'p',
      { class: 'muted', 'data-testid': 'no-model-card' },
      `No model card for ${model.version}: `,
      `its churn risk is the probability of churning within ${model.horizonDays} days, but how well it ranks customers and how calibrated it is were not recorded.`,
    );
  }
  const { validation, alert, samples, history, adaptation } = card;
  const baselines = card.baselines.map((baseline) => `${baseline.name} ${auc(baseline.auc)}`).join(' · ');
  const facts = h(
    'div',
    { class: 'facts' },
    fact('Version', card.version, `from ${card.baseVersion}`),
    fact('Trained', fmt.date(Date.parse(card.trainedAt)), `on history until ${fmt.date(Date.parse(history.observedUntil))}`),
    fact('Horizon', `${card.horizonDays} days`, riskMeaning(model)),
    // A model moved to this base's churn rate (npm run train -- --adapt-base-rate): the figures after it are the original's.
    adaptation
      ? fact(
          'Adapted to this base',
          `${fmt.percent(adaptation.to, 1)} churn within ${card.horizonDays} days`,
          `${adaptationSource(adaptation)}; fitted at ${fmt.percent(adaptation.from, 1)}; ` +
            // A slope fitted on the settled snapshots too: every coefficient of the model was multiplied by it.
            (adaptation.slope === undefined ? '' : `its risks' spread fitted on them too (coefficients × ${adaptation.slope}); `) +
            // Thresholds chosen on the settled snapshots too: the alert's figures are theirs there.
            (adaptation.alert
              ? `the alert's thresholds chosen on them, its figures theirs; the other figures below are ${adaptation.figuresOf}'s`
              : `the figures below are ${adaptation.figuresOf}'s`),
        )
      : '',
    fact('Validation AUC', auc(validation.auc), `PR-AUC ${auc(validation.prAuc)}`),
    fact('Baselines (AUC)', h('span', { class: 'fact-small' }, baselines)),
    // The error is a mean distance between two probabilities: percentage points, not a percentage.
    fact(
      'Calibration error',
      `${fmt.number(validation.calibration.error * 100, 1)} points`,
      `risk ${fmt.percent(validation.meanPredicted, 1)} on average, ${fmt.percent(validation.baseRate, 1)} churned`,
    ),
    fact(
      'Churn risk high alert',
      `opens ≥ ${fmt.percent(alert.openAt)}, resolves < ${fmt.percent(alert.resolveBelow)}`,
      `expected precision ${fmt.percent(alert.precision)} · recall ${fmt.percent(alert.recall)} (${fmt.percent(alert.earlyRecall)} ${alert.earlyWarningDays}+ days ahead)`,
    ),
    fact('Trained on', samplesNote(samples.train), `validated on ${samplesNote(samples.validation)}`),
  );
  const sources = h(
    'details',
    { class: 'sources' },
    h('summary', {}, `Learnt from ${fmt.plural(history.sources.length, 'source')}`),
    h('ul', {}, history.sources.map((source) => h('li', {}, h('code', {}, source)))),
  );
  const chart = h(
    'figure',
    { class: 'calibration', 'data-testid': 'calibration-chart' },
    calibrationChart(validation.calibration.bins),
    h('figcaption', { class: 'muted small' }, 'Calibration on the validation snapshots: each point a tenth of them; on the diagonal, the risk is what happened.'),
  );
  return h('div', { class: 'model-body' }, h('div', {}, facts, sources), chart);
}
