import type { Lineage } from '../../cli/lineage';
import type { EndpointStatus, ModelVersionStatus, RunStatus, Status, StepStatus } from '../../cli/status';
import { formatNumber, metricChart, numericMetrics } from './chart';
import { escapeHtml } from './escape';

/**
 * The page's sections as markup, from the JSON `sluice status --json` prints (the same type).
 * Pure, so the rendering is unit-tested without a browser; every value from the APIs is escaped.
 */

/** What a button asks the dashboard API to do. */
export type Action = 'approve' | 'reject' | 'promote';

/** The text of the confirmation dialog for an action on a version. */
export function confirmation(action: Action, version: string): string {
  switch (action) {
    case 'approve':
      return `Approve ${version}? An approved version is deployed to staging.`;
    case 'reject':
      return `Reject ${version}? If it is live, the previous approved version is deployed again.`;
    case 'promote':
      return `Promote ${version} to prod? This releases the prod gate of the deploy waiting on it.`;
  }
}

const executionName = (arn: string) => arn.split(':').at(-1) ?? arn;

function stepNode(step: StepStatus): string {
  const classes = ['step', step.status, ...(step.cachedFrom ? ['cached'] : []), ...(step.reusedFrom ? ['reused'] : [])];
  const notes = [
    step.durationSeconds === undefined ? '' : `${step.durationSeconds} s`,
    step.cachedFrom ? `cached from ${executionName(step.cachedFrom)}` : '',
    step.reusedFrom ? `reused from ${executionName(step.reusedFrom)}` : '',
  ].filter((note) => note !== '');
  return `<li class="${classes.join(' ')}" data-step="${escapeHtml(step.name)}" title="${escapeHtml(`${step.name}: ${step.status}${notes.length ? ` (${notes.join(', ')})` : ''}`)}"><span class="name">${escapeHtml(step.name)}</span><small>${escapeHtml(step.status)}${notes.length ? ` · ${escapeHtml(notes.join(' · '))}` : ''}</small></li>`;
}

function duration(run: RunStatus): string {
  if (!run.startDate) return '';
  const end = run.stopDate ? new Date(run.stopDate).getTime() : Date.now();
  const seconds = Math.max(0, Math.round((end - new Date(run.startDate).getTime()) / 1000));
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}

/** Runs, newest first, each with its step graph (cached, reused, failed and running steps marked). */
export function renderRuns(runs: RunStatus[]): string {
  if (runs.length === 0) return '<p class="empty">No runs yet: push to a repository or use <code>sluice run</code>.</p>';
  const sorted = [...runs].sort((a, b) => (b.startDate ?? '').localeCompare(a.startDate ?? ''));
  return sorted
    .map(
      (run) =>
        `<article class="run ${escapeHtml(run.status.toLowerCase())}" data-run="${escapeHtml(`${run.stateMachine}/${run.name}`)}">` +
        `<header><span class="badge ${escapeHtml(run.status.toLowerCase())}">${escapeHtml(run.status)}</span> <span class="run-name">${escapeHtml(run.stateMachine)}/${escapeHtml(run.name)}</span>` +
        `<span class="when">${run.startDate ? escapeHtml(new Date(run.startDate).toISOString().replace('T', ' ').slice(0, 19)) : ''} · ${escapeHtml(duration(run))}</span></header>` +
        (run.error ? `<p class="error">${escapeHtml(run.error)}: ${escapeHtml(run.cause ?? '')}</p>` : '') +
        `<ol class="steps">${run.steps.map(stepNode).join('')}</ol>` +
        '</article>',
    )
    .join('');
}

function actions(version: ModelVersionStatus): Action[] {
  const offered: Action[] = [];
  if (version.approval !== 'Approved') offered.push('approve');
  if (version.approval !== 'Rejected') offered.push('reject');
  if (version.approval === 'Approved') offered.push('promote');
  return offered;
}

/** Model versions per group: each metric charted across the group's versions, then a row per version with its actions. */
export function renderModelVersions(versions: ModelVersionStatus[], endpoints: EndpointStatus[]): string {
  if (versions.length === 0) return '<p class="empty">No model versions registered yet.</p>';
  const groups = new Map<string, ModelVersionStatus[]>();
  for (const version of versions) groups.set(version.group, [...(groups.get(version.group) ?? []), version]);
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, members]) => {
      const sorted = [...members].sort((a, b) => b.version - a.version);
      const metrics = new Map(sorted.map((version) => [version.version, numericMetrics(version.metrics)]));
      const names = [...new Set([...metrics.values()].flatMap((values) => Object.keys(values)))].sort();
      const charts = names
        .map((name) => {
          const points = sorted.flatMap((version) => {
            const value = metrics.get(version.version)?.[name];
            return value === undefined ? [] : [{ version: version.version, value }];
          });
          return `<figure class="metric" data-metric="${escapeHtml(name)}"><figcaption>${escapeHtml(name)}</figcaption>${metricChart(name, points)}</figure>`;
        })
        .join('');
      const rows = sorted
        .map((version) => {
          const reference = `${version.group}/${version.version}`;
          const serving = endpoints.filter((endpoint) => (endpoint.modelVersion?.split(', ') ?? []).includes(reference)).map((endpoint) => endpoint.name);
          const values = metrics.get(version.version) ?? {};
          const commit = version.metadata?.['sluice:commit'];
          return (
            `<tr data-version="${escapeHtml(reference)}">` +
            `<td><a href="#" class="lineage" data-reference="${escapeHtml(reference)}">${escapeHtml(reference)}</a></td>` +
            `<td><span class="badge ${escapeHtml(version.approval.toLowerCase())}">${escapeHtml(version.approval)}</span></td>` +
            `<td class="metrics">${Object.entries(values).map(([name, value]) => `<span>${escapeHtml(name)} <b>${escapeHtml(formatNumber(value))}</b></span>`).join(' ') || '—'}</td>` +
            `<td>${commit ? `<code>${escapeHtml(commit.slice(0, 7))}</code>` : '—'}</td>` +
            `<td>${serving.length ? serving.map(escapeHtml).join(', ') : '—'}</td>` +
            `<td class="actions">${actions(version).map((action) => `<button type="button" data-action="${action}" data-reference="${escapeHtml(reference)}">${action}</button>`).join('')}</td>` +
            '</tr>'
          );
        })
        .join('');
      return (
        `<section class="group" data-group="${escapeHtml(group)}"><h3>${escapeHtml(group)}</h3>` +
        (charts ? `<div class="charts">${charts}</div>` : '') +
        `<table><thead><tr><th>Version</th><th>Approval</th><th>Metrics</th><th>Commit</th><th>Serving on</th><th></th></tr></thead><tbody>${rows}</tbody></table></section>`
      );
    })
    .join('');
}

/** How an endpoint's traffic is split: each variant's version and share, and the deployment under way, if any. */
function trafficOf(endpoint: EndpointStatus): string {
  const variants = endpoint.variants ?? [];
  const split = variants.length === 0 ? '—' : variants.length === 1 ? `all traffic (${variants[0]!.name})` : variants.map((variant) => `${variant.modelVersion ?? variant.name} ${variant.trafficPercent}%`).join(' · ');
  return endpoint.pending ? `${split} → updating to ${endpoint.pending.modelVersion ?? endpoint.pending.endpointConfig}` : split;
}

/** Endpoints with their state, the version(s) their config serves and how the traffic is split between variants. */
export function renderEndpoints(endpoints: EndpointStatus[]): string {
  if (endpoints.length === 0) return '<p class="empty">No endpoints: approve a version to deploy it to staging.</p>';
  const rows = [...endpoints]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((endpoint) => {
      const served = endpoint.modelVersion?.split(', ') ?? [];
      return (
        `<tr data-endpoint="${escapeHtml(endpoint.name)}">` +
        `<td>${escapeHtml(endpoint.name)}</td>` +
        `<td><span class="badge ${escapeHtml(endpoint.status.toLowerCase())}">${escapeHtml(endpoint.status)}</span></td>` +
        `<td class="served">${served.length ? served.map(escapeHtml).join(', ') : '—'}</td>` +
        `<td class="traffic">${escapeHtml(trafficOf(endpoint))}</td>` +
        `<td>${escapeHtml(endpoint.endpointConfig ?? '')}${endpoint.failureReason ? `<p class="error">${escapeHtml(endpoint.failureReason)}</p>` : ''}</td>` +
        '</tr>'
      );
    })
    .join('');
  return `<table><thead><tr><th>Endpoint</th><th>Status</th><th>Serves</th><th>Traffic</th><th>Config</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** A version's lineage: commit → run → training job → version → endpoints. */
export function renderLineage(lineage: Lineage): string {
  const run = lineage.run ? `${lineage.run.stateMachine}/${lineage.run.name} (${lineage.run.status})` : (lineage.executionArn ?? 'unknown');
  const rows: [string, string][] = [
    ['Version', `${lineage.version} · ${lineage.approval}`],
    ['Source', `${lineage.repository ?? '?'} ${lineage.branch ?? '?'}@${lineage.commit?.slice(0, 12) ?? '?'}`],
    ['Run', run],
    ['Training job', lineage.trainingJob ?? 'none recorded'],
    ['Endpoints', lineage.endpoints.length ? lineage.endpoints.map((endpoint) => `${endpoint.name} (${endpoint.status})`).join(', ') : 'none'],
  ];
  return `<dl>${rows.map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>`;
}

/** Refresh intervals: while something moves, and when all is still (status reads every execution's history; AWS throttles). */
export const REFRESH_BUSY_MS = 3000;
export const REFRESH_IDLE_MS = 15_000;
const MOVING_ENDPOINT = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting']);

/** How long until the next refresh: short while a run runs or an endpoint changes, longer otherwise. */
export function refreshDelay(status: Status): number {
  const busy = status.runs.some((run) => run.status === 'RUNNING') || status.endpoints.some((endpoint) => MOVING_ENDPOINT.has(endpoint.status));
  return busy ? REFRESH_BUSY_MS : REFRESH_IDLE_MS;
}

/** Every section of the page from one status. */
export function renderStatus(status: Status): { runs: string; versions: string; endpoints: string } {
  return { runs: renderRuns(status.runs), versions: renderModelVersions(status.modelVersions, status.endpoints), endpoints: renderEndpoints(status.endpoints) };
}
