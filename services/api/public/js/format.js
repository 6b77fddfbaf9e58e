// Display formats. Amounts are in the API's reporting currency (from /api/v1/stats).
let currency = 'USD';
let moneyFormat = new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: 0 });
let compactMoneyFormat = new Intl.NumberFormat('en-US', { style: 'currency', currency, notation: 'compact', maximumFractionDigits: 1 });
const countFormat = new Intl.NumberFormat('en-US');
const dateFormat = new Intl.DateTimeFormat('en-GB', { day: '2-digit', month: 'short', year: 'numeric', timeZone: 'UTC' });
const dateTimeFormat = new Intl.DateTimeFormat('en-GB', { day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
const DAY = 86_400_000;

export function setCurrency(code) {
  if (code === currency) return;
  currency = code;
  moneyFormat = new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: 0 });
  compactMoneyFormat = new Intl.NumberFormat('en-US', { style: 'currency', currency, notation: 'compact', maximumFractionDigits: 1 });
}

export const money = (value) => (value === null || value === undefined ? '–' : moneyFormat.format(value));
export const compactMoney = (value) => compactMoneyFormat.format(value);
export const count = (value) => (value === null || value === undefined ? '–' : countFormat.format(value));
export const percent = (value, digits = 0) => (value === null || value === undefined ? '–' : `${(value * 100).toFixed(digits)}%`);
export const date = (epochMs) => (epochMs === null || epochMs === undefined ? '–' : dateFormat.format(epochMs));
export const dateTime = (epochMs) => (epochMs === null || epochMs === undefined ? '–' : `${dateTimeFormat.format(epochMs)} UTC`);
export const number = (value, digits = 2) => (value === null || value === undefined ? '–' : Number(value.toFixed(digits)).toString());

/** "in 12 days", "today", "5 days ago" relative to now, counted in whole UTC days. */
export function relativeDays(epochMs, now = Date.now()) {
  if (epochMs === null || epochMs === undefined) return '';
  const days = Math.floor(epochMs / DAY) - Math.floor(now / DAY);
  if (days === 0) return 'today';
  return days > 0 ? `in ${days} d` : `${-days} d ago`;
}

/** "1 customer", "3 customers" */
export const plural = (n, one, many = `${one}s`) => `${countFormat.format(n)} ${n === 1 ? one : many}`;

const STAGE_LABELS = { PROSPECT: 'Prospect', ONBOARDING: 'Onboarding', GROWTH: 'Growth', MATURE: 'Mature', DECLINE: 'Decline', CHURNED: 'Churned' };
export const stage = (value) => STAGE_LABELS[value] ?? value;

/** EMAIL_SENT → "Email sent", NO_RECENT_ACTIVITY → "No recent activity". */
export const humanize = (value) => value.charAt(0) + value.slice(1).toLowerCase().replaceAll('_', ' ');

const ACRONYMS = new Set(['sla', 'nps', 'csm']);

/** Measure ids and churn features as words: "engagement-trend" → "Engagement trend", "slaBreaches90" → "SLA breaches (90 d)". */
export function label(id) {
  const words = id
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([a-z])(\d+)$/i, '$1 ($2 d)')
    .replaceAll('-', ' ')
    .toLowerCase()
    .split(' ')
    .map((word) => (ACRONYMS.has(word) ? word.toUpperCase() : word))
    .join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
