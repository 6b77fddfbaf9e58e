// How well a risk ranks and how true its probabilities are, on labelled samples: what a model card reports.

export interface ScoredSample {
  /** The risk given to the sample: a probability for calibration, any ranking for AUC and average precision. */
  score: number;
  label: boolean;
}

const countPositives = (samples: readonly ScoredSample[]): number => samples.reduce((sum, s) => sum + (s.label ? 1 : 0), 0);

/** Runs of equal scores, in the order given: every threshold falls between two of them. */
function tieGroups(sorted: readonly ScoredSample[]): Array<{ start: number; end: number }> {
  const groups: Array<{ start: number; end: number }> = [];
  for (let start = 0; start < sorted.length; ) {
    let end = start + 1;
    while (end < sorted.length && sorted[end]!.score === sorted[start]!.score) end += 1;
    groups.push({ start, end });
    start = end;
  }
  return groups;
}

/**
 * ROC AUC: the chance that a random positive scores above a random negative, ties counting half (the
 * Mann–Whitney statistic, by average ranks). null without both positives and negatives.
 */
export function rocAuc(samples: readonly ScoredSample[]): number | null {
  const positives = countPositives(samples);
  const negatives = samples.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const sorted = [...samples].sort((a, b) => a.score - b.score);
  let positiveRankSum = 0;
  for (const { start, end } of tieGroups(sorted)) {
    const averageRank = (start + 1 + end) / 2;
    for (let i = start; i < end; i += 1) if (sorted[i]!.label) positiveRankSum += averageRank;
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * PR-AUC as average precision: Σ (recallₖ − recallₖ₋₁) × precisionₖ over the thresholds at each distinct score,
 * highest first (equal scores are flagged together). The base rate for a ranking that knows nothing; 1 for a
 * perfect one. null without positives.
 */
export function averagePrecision(samples: readonly ScoredSample[]): number | null {
  const positives = countPositives(samples);
  if (positives === 0) return null;
  const sorted = [...samples].sort((a, b) => b.score - a.score);
  let truePositives = 0;
  let previousRecall = 0;
  let sum = 0;
  for (const { start, end } of tieGroups(sorted)) {
    for (let i = start; i < end; i += 1) if (sorted[i]!.label) truePositives += 1;
    const recall = truePositives / positives;
    sum += (recall - previousRecall) * (truePositives / end);
    previousRecall = recall;
  }
  return sum;
}

export interface CalibrationBin {
  /** Lowest and highest predicted risk in the bin. */
  from: number;
  to: number;
  count: number;
  meanPredicted: number;
  /** Share of the bin's samples that are positive. */
  observedRate: number;
}

export interface CalibrationTable {
  bins: CalibrationBin[];
  /** Σ count × |meanPredicted − observedRate| ÷ samples: how far the predicted probabilities are from what happened. */
  error: number;
}

/**
 * Predicted against observed by quantile of the prediction: the samples sorted by predicted risk (equal risks
 * in the order given) and cut into `bins` groups of equal size (deciles by default), so every bin holds a tenth
 * of the samples wherever the risks cluster.
 */
export function calibrationTable(samples: readonly ScoredSample[], bins = 10): CalibrationTable {
  const sorted = samples.map((sample, index) => ({ sample, index })).sort((a, b) => a.sample.score - b.sample.score || a.index - b.index);
  const table: CalibrationBin[] = [];
  let weightedError = 0;
  for (let k = 0; k < bins; k += 1) {
    const members = sorted.slice(Math.floor((k * sorted.length) / bins), Math.floor(((k + 1) * sorted.length) / bins)).map(({ sample }) => sample);
    if (members.length === 0) continue;
    const meanPredicted = members.reduce((sum, s) => sum + s.score, 0) / members.length;
    const observedRate = countPositives(members) / members.length;
    weightedError += members.length * Math.abs(meanPredicted - observedRate);
    table.push({ from: members[0]!.score, to: members.at(-1)!.score, count: members.length, meanPredicted, observedRate });
  }
  return { bins: table, error: samples.length === 0 ? 0 : weightedError / samples.length };
}

export interface ThresholdOutcome {
  /** Samples at or above the threshold. */
  flagged: number;
  truePositives: number;
  /** truePositives ÷ flagged; null when nothing is flagged. */
  precision: number | null;
  /** truePositives ÷ positives; null without positives. */
  recall: number | null;
}

/** What flagging every sample scoring at least `threshold` gives. */
export function outcomeAt(samples: readonly ScoredSample[], threshold: number): ThresholdOutcome {
  const flagged = samples.filter((s) => s.score >= threshold);
  const truePositives = countPositives(flagged);
  const positives = countPositives(samples);
  return {
    flagged: flagged.length,
    truePositives,
    precision: flagged.length === 0 ? null : truePositives / flagged.length,
    recall: positives === 0 ? null : truePositives / positives,
  };
}
