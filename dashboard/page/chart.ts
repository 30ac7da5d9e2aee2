import { escapeHtml } from './escape';

/**
 * Metrics charted across a group's versions as inline SVG (no chart library: the page works
 * offline and stays small). Pure: data in, markup out.
 */

export interface MetricPoint {
  version: number;
  value: number;
}

const WIDTH = 300;
const HEIGHT = 120;
const PAD = { left: 52, right: 12, top: 10, bottom: 22 };

/** A number short enough for an axis label. */
export function formatNumber(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(2);
  return Number(value.toPrecision(4)).toString();
}

/**
 * Every numeric leaf of an evaluation report, keyed by its path (`regression_metrics.mse`): a
 * trailing `.value` is dropped, as SageMaker's model-quality reports put the figure there.
 */
export function numericMetrics(report: unknown): Record<string, number> {
  const found: Record<string, number> = {};
  const visit = (value: unknown, path: string[]) => {
    if (typeof value === 'number' && Number.isFinite(value)) {
      const key = (path.at(-1) === 'value' ? path.slice(0, -1) : path).join('.');
      found[key || 'value'] = value;
    } else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, child] of Object.entries(value)) visit(child, [...path, key]);
    }
  };
  visit(report, []);
  return found;
}

/** One metric across versions (oldest left), as an `<svg>` with a `<title>` on every point. */
export function metricChart(metric: string, points: MetricPoint[]): string {
  const sorted = [...points].sort((a, b) => a.version - b.version);
  const values = sorted.map((point) => point.value);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const x = (index: number) => PAD.left + (sorted.length === 1 ? plotWidth / 2 : (index * plotWidth) / (sorted.length - 1));
  // A flat series sits in the middle rather than on an axis.
  const y = (value: number) => PAD.top + (max === min ? plotHeight / 2 : ((max - value) * plotHeight) / (max - min));
  const coordinates = sorted.map((point, index) => `${x(index).toFixed(1)},${y(point.value).toFixed(1)}`);
  const name = escapeHtml(metric);
  return [
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${name} by version">`,
    `<text class="axis" x="${PAD.left - 6}" y="${PAD.top + 4}" text-anchor="end">${escapeHtml(formatNumber(max))}</text>`,
    `<text class="axis" x="${PAD.left - 6}" y="${PAD.top + plotHeight}" text-anchor="end">${escapeHtml(formatNumber(min))}</text>`,
    `<line class="frame" x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + plotHeight}"/>`,
    `<line class="frame" x1="${PAD.left}" y1="${PAD.top + plotHeight}" x2="${WIDTH - PAD.right}" y2="${PAD.top + plotHeight}"/>`,
    sorted.length > 1 ? `<polyline class="series" points="${coordinates.join(' ')}"/>` : '',
    ...sorted.map((point, index) =>
      [
        `<circle class="point" cx="${x(index).toFixed(1)}" cy="${y(point.value).toFixed(1)}" r="3.5"><title>v${point.version}: ${escapeHtml(formatNumber(point.value))}</title></circle>`,
        `<text class="axis" x="${x(index).toFixed(1)}" y="${HEIGHT - 6}" text-anchor="middle">v${point.version}</text>`,
      ].join(''),
    ),
    '</svg>',
  ].join('');
}
