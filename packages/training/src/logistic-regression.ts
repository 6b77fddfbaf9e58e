// L2-regularised logistic regression fitted by Newton's method (iteratively reweighted least squares) on
// standardised features. A dozen features and tens of thousands of rows need no library: the Hessian is a
// matrix of (features + 1)² solved by Cholesky, the fit is exact to the last step's tolerance, deterministic (same rows,
// same bits) and returns coefficients on the features' own scale, so that the scorer's explanation (coefficient
// × feature value) stays exact. npm's ml-logistic-regression (2.0.0) runs 50,000 steps of plain gradient descent
// at a fixed learning rate, with no regularisation, no intercept and no convergence test: less accurate on
// features of different scales, and no shorter to check.

export interface LogisticRegressionOptions {
  /**
   * λ in Σ log-loss + λ/2 × Σ wⱼ², the wⱼ being the coefficients of the standardised features (mean 0, standard
   * deviation 1), so the penalty treats every feature alike whatever its unit. The intercept is not penalised.
   */
  l2: number;
  /** Columns fitted with a coefficient of 0, as if absent (their mean and standard deviation are still reported). */
  leaveOut?: readonly number[];
  /** Newton steps at most. */
  maxIterations?: number;
  /** Converged when no standardised parameter moves by more than this in a step. */
  tolerance?: number;
}

export interface LogisticRegressionFit {
  /** On the features' own scale: logit = intercept + Σ coefficients[j] × x[j]. */
  intercept: number;
  coefficients: number[];
  /** The coefficients per standard deviation of each feature: comparable across features. 0 for a constant or left-out feature. */
  standardisedCoefficients: number[];
  /** Per feature, over the rows fitted on. */
  means: number[];
  standardDeviations: number[];
  iterations: number;
  converged: boolean;
}

const DEFAULT_MAX_ITERATIONS = 100;
const DEFAULT_TOLERANCE = 1e-10;
/** A feature whose standard deviation is below this is constant on these rows: nothing can be learnt about it. */
const CONSTANT_FEATURE_SD = 1e-12;

/** log(1 + e^x) without overflow. */
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** Solves A x = b for a symmetric positive definite A by Cholesky decomposition. */
export function solveSymmetricPositiveDefinite(a: readonly number[][], b: readonly number[]): number[] {
  const n = b.length;
  const lower = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i += 1) {
    for (let j = 0; j <= i; j += 1) {
      let sum = a[i]![j]!;
      for (let k = 0; k < j; k += 1) sum -= lower[i]![k]! * lower[j]![k]!;
      if (i === j) {
        if (!(sum > 0)) throw new RangeError('the matrix is not positive definite');
        lower[i]![i] = Math.sqrt(sum);
      } else {
        lower[i]![j] = sum / lower[j]![j]!;
      }
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i += 1) {
    let sum = b[i]!;
    for (let k = 0; k < i; k += 1) sum -= lower[i]![k]! * y[k]!;
    y[i] = sum / lower[i]![i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i -= 1) {
    let sum = y[i]!;
    for (let k = i + 1; k < n; k += 1) sum -= lower[k]![i]! * x[k]!;
    x[i] = sum / lower[i]![i]!;
  }
  return x;
}

function columnMoments(rows: readonly (readonly number[])[], width: number): { means: number[]; standardDeviations: number[] } {
  const means = new Array<number>(width).fill(0);
  for (const row of rows) for (let j = 0; j < width; j += 1) means[j]! += row[j]!;
  for (let j = 0; j < width; j += 1) means[j]! /= rows.length;
  const variances = new Array<number>(width).fill(0);
  for (const row of rows) for (let j = 0; j < width; j += 1) variances[j]! += (row[j]! - means[j]!) ** 2;
  return { means, standardDeviations: variances.map((sum) => Math.sqrt(sum / rows.length)) };
}

/**
 * Fits P(label) = logistic(intercept + Σ coefficient × feature) to `rows` (one array of feature values per
 * sample) and `labels`, minimising the log-loss plus the L2 penalty. Each Newton step is damped (halved until the
 * objective falls), so the fit cannot overshoot; with λ > 0 the objective is strictly convex and has one minimum.
 */
export function fitLogisticRegression(
  rows: readonly (readonly number[])[],
  labels: readonly boolean[],
  options: LogisticRegressionOptions,
): LogisticRegressionFit {
  const { l2, leaveOut = [], maxIterations = DEFAULT_MAX_ITERATIONS, tolerance = DEFAULT_TOLERANCE } = options;
  if (rows.length === 0 || rows.length !== labels.length) throw new RangeError('need as many labels as rows, and at least one row');
  if (!(l2 >= 0)) throw new RangeError(`l2 must be ≥ 0, got ${l2}`);
  const width = rows[0]!.length;
  if (rows.some((row) => row.length !== width)) throw new RangeError('every row needs the same number of features');
  const { means, standardDeviations } = columnMoments(rows, width);
  // Constant features are left out of the fit, as are those asked to be: their coefficient is 0.
  const used = standardDeviations.flatMap((sd, j) => (sd > CONSTANT_FEATURE_SD && !leaveOut.includes(j) ? [j] : []));
  // Design matrix: a leading 1 for the intercept, then the standardised features in use.
  const design = rows.map((row) => [1, ...used.map((j) => (row[j]! - means[j]!) / standardDeviations[j]!)]);
  const targets: number[] = labels.map((label) => (label ? 1 : 0));
  const size = used.length + 1;

  const objective = (theta: readonly number[]): number => {
    let loss = 0;
    design.forEach((z, i) => {
      const eta = dot(theta, z);
      loss += softplus(eta) - targets[i]! * eta;
    });
    for (let k = 1; k < size; k += 1) loss += (l2 / 2) * theta[k]! ** 2;
    return loss;
  };

  const positives = targets.reduce((sum, t) => sum + t, 0);
  const baseRate = Math.min(Math.max(positives / rows.length, 1e-6), 1 - 1e-6);
  let theta = [Math.log(baseRate / (1 - baseRate)), ...new Array<number>(used.length).fill(0)];
  let current = objective(theta);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && !converged) {
    iterations += 1;
    const gradient = new Array<number>(size).fill(0);
    const hessian = Array.from({ length: size }, () => new Array<number>(size).fill(0));
    design.forEach((z, i) => {
      const p = sigmoid(dot(theta, z));
      const residual = p - targets[i]!;
      const weight = p * (1 - p);
      for (let a = 0; a < size; a += 1) {
        gradient[a]! += residual * z[a]!;
        for (let b = 0; b <= a; b += 1) hessian[a]![b]! += weight * z[a]! * z[b]!;
      }
    });
    for (let a = 1; a < size; a += 1) {
      gradient[a]! += l2 * theta[a]!;
      hessian[a]![a]! += l2;
    }
    for (let a = 0; a < size; a += 1) for (let b = a + 1; b < size; b += 1) hessian[a]![b] = hessian[b]![a]!;
    const step = solveSymmetricPositiveDefinite(hessian, gradient);
    let scale = 1;
    let next = theta.map((t, k) => t - step[k]!);
    let value = objective(next);
    // Damping: a full Newton step can overshoot far from the minimum; halve it until the objective falls.
    while (value > current && scale > 1e-10) {
      scale /= 2;
      next = theta.map((t, k) => t - scale * step[k]!);
      value = objective(next);
    }
    converged = Math.max(...step.map((s) => Math.abs(scale * s))) < tolerance;
    theta = next;
    current = value;
  }

  const standardisedCoefficients = new Array<number>(width).fill(0);
  used.forEach((j, k) => (standardisedCoefficients[j] = theta[k + 1]!));
  const coefficients = standardisedCoefficients.map((w, j) => (w === 0 ? 0 : w / standardDeviations[j]!));
  const intercept = theta[0]! - coefficients.reduce((sum, c, j) => sum + c * means[j]!, 0);
  return { intercept, coefficients, standardisedCoefficients, means, standardDeviations, iterations, converged };
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let k = 0; k < a.length; k += 1) sum += a[k]! * b[k]!;
  return sum;
}
