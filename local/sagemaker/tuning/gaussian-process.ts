/**
 * A small Gaussian-process regression for the Bayesian strategy: a Matérn 5/2 kernel on the unit
 * cube, targets standardised, the length scale chosen by maximum marginal likelihood over a fixed
 * grid, solved by Cholesky factorisation. It models tens of observations, which is all a local
 * tuning job produces, so plain arrays are enough. Pure and deterministic.
 */

/** The posterior at one point, on the scale of the observations. */
export interface Prediction {
  mean: number;
  sd: number;
}

/** A fitted process. */
export interface GaussianProcess {
  predict(x: number[]): Prediction;
  /** The length scale the marginal likelihood picked. */
  lengthScale: number;
}

/** Length scales tried (the unit cube's side is 1). */
export const LENGTH_SCALES = [0.05, 0.1, 0.2, 0.35, 0.5, 0.8, 1.2, 2];
/** Observation noise variance relative to the standardised signal variance of 1 (also keeps K positive definite). */
const NOISE = 1e-4;

function matern52(a: number[], b: number[], lengthScale: number): number {
  let squared = 0;
  for (let i = 0; i < a.length; i += 1) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    squared += d * d;
  }
  const r = Math.sqrt(5 * squared) / lengthScale;
  return (1 + r + (r * r) / 3) * Math.exp(-r);
}

/** Lower-triangular L with L·Lᵀ = A (A symmetric positive definite, row-major). Throws if A is not. */
export function cholesky(a: number[][]): number[][] {
  const n = a.length;
  const l: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i += 1) {
    const li = l[i] as number[];
    for (let j = 0; j <= i; j += 1) {
      const lj = l[j] as number[];
      let sum = (a[i] as number[])[j] as number;
      for (let k = 0; k < j; k += 1) sum -= (li[k] as number) * (lj[k] as number);
      if (i === j) {
        if (!(sum > 0)) throw new Error('matrix is not positive definite');
        li[j] = Math.sqrt(sum);
      } else {
        li[j] = sum / (lj[j] as number);
      }
    }
  }
  return l;
}

/** Solves L·x = b (forward substitution). */
function solveLower(l: number[][], b: number[]): number[] {
  const x = new Array<number>(b.length).fill(0);
  for (let i = 0; i < b.length; i += 1) {
    const li = l[i] as number[];
    let sum = b[i] as number;
    for (let k = 0; k < i; k += 1) sum -= (li[k] as number) * (x[k] as number);
    x[i] = sum / (li[i] as number);
  }
  return x;
}

/** Solves Lᵀ·x = b (back substitution). */
function solveUpper(l: number[][], b: number[]): number[] {
  const n = b.length;
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i -= 1) {
    let sum = b[i] as number;
    for (let k = i + 1; k < n; k += 1) sum -= ((l[k] as number[])[i] as number) * (x[k] as number);
    x[i] = sum / ((l[i] as number[])[i] as number);
  }
  return x;
}

interface Fit {
  lengthScale: number;
  l: number[][];
  alpha: number[];
  logLikelihood: number;
}

function fitWith(xs: number[][], ys: number[], lengthScale: number): Fit | undefined {
  const k = xs.map((a, i) => xs.map((b, j) => matern52(a, b, lengthScale) + (i === j ? NOISE : 0)));
  let l: number[][];
  try {
    l = cholesky(k);
  } catch {
    return undefined;
  }
  const alpha = solveUpper(l, solveLower(l, ys));
  let logDet = 0;
  for (let i = 0; i < l.length; i += 1) logDet += Math.log((l[i] as number[])[i] as number);
  const fitTerm = ys.reduce((sum, y, i) => sum + y * (alpha[i] as number), 0);
  return { lengthScale, l, alpha, logLikelihood: -0.5 * fitTerm - logDet - 0.5 * ys.length * Math.log(2 * Math.PI) };
}

/**
 * Fits a process to observations (x in the unit cube, y any finite numbers). Throws if there are
 * none or if no length scale gives a positive-definite kernel (duplicate points are fine: the
 * noise term keeps the matrix invertible).
 */
export function fitGaussianProcess(xs: number[][], ys: number[]): GaussianProcess {
  if (xs.length === 0 || xs.length !== ys.length) throw new Error('a Gaussian process needs as many targets as points, at least one');
  const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
  const variance = ys.reduce((a, b) => a + (b - mean) * (b - mean), 0) / ys.length;
  const scale = variance > 0 ? Math.sqrt(variance) : 1;
  const standardised = ys.map((y) => (y - mean) / scale);
  let best: Fit | undefined;
  for (const lengthScale of LENGTH_SCALES) {
    const fit = fitWith(xs, standardised, lengthScale);
    if (fit && (!best || fit.logLikelihood > best.logLikelihood)) best = fit;
  }
  if (!best) throw new Error('no length scale gave a positive-definite kernel');
  const { l, alpha, lengthScale } = best;
  // Scratch buffers reused across predictions: a proposal scores ~1000 candidates.
  const n = xs.length;
  const kStar = new Float64Array(n);
  const v = new Float64Array(n);
  return {
    lengthScale,
    predict: (x) => {
      let mu = 0;
      for (let i = 0; i < n; i += 1) {
        kStar[i] = matern52(xs[i] as number[], x, lengthScale);
        mu += (kStar[i] as number) * (alpha[i] as number);
      }
      // v = L⁻¹·k*, so the posterior variance is k(x, x) − vᵀv.
      let explained = 0;
      for (let i = 0; i < n; i += 1) {
        const li = l[i] as number[];
        let sum = kStar[i] as number;
        for (let k = 0; k < i; k += 1) sum -= (li[k] as number) * (v[k] as number);
        const vi = sum / (li[i] as number);
        v[i] = vi;
        explained += vi * vi;
      }
      const variancePosterior = Math.max(1e-12, 1 + NOISE - explained);
      return { mean: mean + scale * mu, sd: scale * Math.sqrt(variancePosterior) };
    },
  };
}

/** erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7). */
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return sign * y;
}

/** Standard normal density. */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Standard normal distribution function. */
export function normalCdf(z: number): number {
  return 0.5 * (1 + erf(z / Math.SQRT2));
}

/**
 * Expected improvement below `best` (minimisation) of a prediction, with exploration margin
 * `xi` (same units as the observations).
 */
export function expectedImprovement(prediction: Prediction, best: number, xi = 0): number {
  const improvement = best - prediction.mean - xi;
  if (prediction.sd <= 0) return Math.max(0, improvement);
  const z = improvement / prediction.sd;
  return improvement * normalCdf(z) + prediction.sd * normalPdf(z);
}
