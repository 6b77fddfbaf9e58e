import type { CustomerInsights, LifecycleStage } from '@churnscore/domain';
import type { ScoringConfig } from './config-schema';
import { isOnboarding } from './scorecard';
import type { Signals } from './signals';

/**
 * Lifecycle stage, first rule that applies:
 * 1. PROSPECT   — never had a contract.
 * 2. CHURNED    — had contracts, none ACTIVE or RENEWED now.
 * 3. ONBOARDING — within `onboardingDays` of the first contract's start (or before it).
 * 4. DECLINE    — engagement clearly down: trend ratio ≤ `declineTrendRatio` (a customer silent
 *                 for 30 days has a trend of 0, see Signals.engagementTrend).
 * 5. GROWTH     — first `growthTenureDays` as a customer, or engagement clearly up
 *                 (trend ratio ≥ `growthTrendRatio`).
 * 6. MATURE     — everything else: an established customer with steady engagement.
 */
export function lifecycleStage(insights: CustomerInsights, signals: Signals, config: ScoringConfig): LifecycleStage {
  const rules = config.lifecycle;
  if (insights.contractsSeen === 0) return 'PROSPECT';
  if (insights.activeContracts === 0) return 'CHURNED';
  if (isOnboarding(signals, config)) return 'ONBOARDING';
  const trend = signals.engagementTrend;
  if (trend !== null && trend <= rules.declineTrendRatio) return 'DECLINE';
  const tenureDays = signals.tenureDays ?? 0;
  if (tenureDays < rules.growthTenureDays || (trend !== null && trend >= rules.growthTrendRatio)) return 'GROWTH';
  return 'MATURE';
}
