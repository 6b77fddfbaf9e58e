// The product end to end, as `npm start` runs it: the simulator's customers published to Kafka, scored by the
// real scorer, served by the read API and shown by the dashboard in a real Chromium. Customers who left must
// show up red or high-risk, those declining towards churn above every healthy one on churn risk, healthy ones
// green; the screenshot is the evidence.
import type { HealthBand, LifecycleStage, RiskBand } from '@churnscore/domain';
import { COHORTS, generateCustomerHistories, type Cohort } from '@churnscore/simulator';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApi } from '../../services/api/src/index';
import { ApiTestBed, TEST_TOKEN } from '../api/support';
import { ARTIFACTS, BAND_COLOURS, launchChromium, NO_BAND_COLOUR, shownPills } from './chromium';

const bed = new ApiTestBed('simulated-portfolio');
const histories = generateCustomerHistories({ customers: 24, days: 400, seed: 'dashboard-e2e', now: bed.clock.now() });
const cohortOf = new Map(histories.map((h) => [h.customerId, h.cohort]));

let api: RunningApi;
let browser: Browser;
let page: Page;

interface Scored {
  customerId: string;
  band: HealthBand;
  churnRisk: number;
  riskBand: RiskBand;
  lifecycleStage: LifecycleStage;
  underContract: boolean;
  valueAtRisk: number;
}

async function scoredCustomers(): Promise<Scored[]> {
  const response = await fetch(`${api.url}/api/v1/customers?sort=valueAtRisk&limit=100`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  return ((await response.json()) as { items: Scored[] }).items;
}

beforeAll(async () => {
  await bed.setUp(3);
  await bed.startScorer();
  await bed.publishAndWait(histories.flatMap((history) => history.events));
  api = await bed.startApi({ token: TEST_TOKEN });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await bed.tearDown();
});

describe('a simulated portfolio through the whole product', () => {
  it('shows each cohort the way its name says', async () => {
    const scored = await scoredCustomers();
    expect(scored).toHaveLength(histories.length);
    const of = (cohort: Cohort) => scored.filter((s) => cohortOf.get(s.customerId) === cohort);
    for (const cohort of COHORTS) expect(of(cohort).length, cohort).toBeGreaterThan(0);
    // Healthy and growing customers, calm today, are green.
    const calm = [...of('healthy'), ...of('growing')];
    expect(calm.every((s) => s.band === 'green')).toBe(true);
    // Customers who left have no active contract and show red or at high risk.
    expect(of('churning').every((s) => s.lifecycleStage === 'CHURNED' && (s.band === 'red' || s.riskBand === 'high'))).toBe(true);
    // Those sliding towards churn, their contracts still running, are no longer at low risk and rank above every calm customer.
    const calmest = Math.max(...calm.map((s) => s.churnRisk));
    expect(of('declining').every((s) => s.riskBand !== 'low' && s.churnRisk > calmest)).toBe(true);
  });

  it('ranks the at-risk customers first on the dashboard, in their band colours', async () => {
    await page.goto(api.url);
    await page.locator('#token-dialog').waitFor({ state: 'visible' });
    await page.fill('#token-input', TEST_TOKEN);
    await page.click('#token-form button[type=submit]');
    const rows = page.locator('#customers tbody tr[data-customer-id]');
    await rows.first().waitFor();

    const shown = await rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.customerId ?? ''));
    const scored = await scoredCustomers();
    expect(shown).toEqual(scored.map((s) => s.customerId));
    // Value at risk (risk × active contract value) puts a declining customer, whose contracts still run, on top;
    // customers who left have no active contract, so no value left at risk.
    expect(cohortOf.get(shown[0]!)).toBe('declining');

    const pills = await shownPills(page);
    for (const { customerId, band, underContract } of scored) {
      // Customers who left are in no band: their health shows uncoloured.
      expect(pills.get(customerId)?.colour, customerId).toBe(underContract ? BAND_COLOURS[band] : NO_BAND_COLOUR);
    }
    expect(scored.some((s) => !s.underContract)).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-simulated-portfolio.png`, fullPage: true });
  });
});
