import type { EndpointStatus, ModelVersionStatus, RunStatus } from '../../../cli/status';
import { formatNumber, metricChart, numericMetrics } from '../../../dashboard/page/chart';
import { escapeHtml } from '../../../dashboard/page/escape';
import { confirmation, refreshDelay, renderEndpoints, renderLineage, renderModelVersions, renderRuns } from '../../../dashboard/page/render';

const GROUP = 'sluice-local--abalone';
const arn = (version: number) => `arn:aws:sagemaker:us-east-1:123456789012:model-package/${GROUP}/${version}`;
const report = (mse: number) => ({ regression_metrics: { mse: { value: mse, standard_deviation: mse / 2 } } });

function version(number: number, approval: string, mse?: number): ModelVersionStatus {
  return { arn: arn(number), group: GROUP, version: number, approval, ...(mse === undefined ? {} : { metrics: report(mse) }), metadata: { 'sluice:commit': `${number}abcdef0123456789` } };
}

/** The markup as a DOM-free reader sees it: attribute/text lookups by regular expression. */
const count = (html: string, pattern: RegExp) => html.match(new RegExp(pattern.source, 'g'))?.length ?? 0;

describe('numericMetrics', () => {
  it('flattens an evaluation report to its numeric leaves, dropping SageMaker\'s trailing .value', () => {
    expect(numericMetrics(report(4.5))).toEqual({ 'regression_metrics.mse': 4.5, 'regression_metrics.mse.standard_deviation': 2.25 });
  });

  it('ignores what is not a finite number, and an absent report', () => {
    expect(numericMetrics({ name: 'x', list: [1, 2], nan: Number.NaN, ok: 1 })).toEqual({ ok: 1 });
    expect(numericMetrics(undefined)).toEqual({});
  });
});

describe('metricChart', () => {
  it('draws one point per version, oldest left, each titled with its value, joined by a line', () => {
    const svg = metricChart('mse', [
      { version: 2, value: 3 },
      { version: 1, value: 5 },
      { version: 3, value: 4 },
    ]);

    expect(count(svg, /<circle /)).toBe(3);
    expect(svg.indexOf('<title>v1: 5</title>')).toBeLessThan(svg.indexOf('<title>v2: 3</title>'));
    expect(svg).toContain('<polyline class="series"');
    // The highest value sits at the top of the plot, the lowest at the bottom.
    expect(svg).toMatch(/<circle class="point" cx="52\.0" cy="10\.0"/);
    expect(svg).toMatch(/<circle class="point" cx="170\.0" cy="98\.0"/);
  });

  it('draws a single version as one centred point without a line', () => {
    const svg = metricChart('mse', [{ version: 1, value: 4.2 }]);

    expect(count(svg, /<circle /)).toBe(1);
    expect(svg).not.toContain('<polyline');
    expect(svg).toContain('cy="54.0"');
  });

  it('escapes the metric name', () => {
    expect(metricChart('<b>"x"</b>', [{ version: 1, value: 1 }])).toContain('aria-label="&#60;b&#62;&#34;x&#34;&#60;/b&#62; by version"');
  });
});

describe('formatNumber', () => {
  it.each([
    [0, '0'],
    [4.123456, '4.123'],
    [1234.5678, '1235'],
    [0.000012, '1.20e-5'],
    [2_500_000, '2.50e+6'],
  ])('%s → %s', (value, expected) => {
    expect(formatNumber(value)).toBe(expected);
  });
});

describe('renderRuns', () => {
  const run: RunStatus = {
    stateMachine: 'sluice-local-build-abalone-age',
    name: 'abalone-age-1',
    status: 'FAILED',
    startDate: '2026-12-04T09:00:00.000Z',
    stopDate: '2026-12-04T09:00:42.000Z',
    error: 'QualityGateFailed',
    cause: 'mse 9 > 5',
    steps: [
      { name: 'preprocess', status: 'succeeded', durationSeconds: 1.5, cachedFrom: 'arn:aws:states:us-east-1:123456789012:execution:sluice-local-build-abalone-age:abalone-age-0' },
      { name: 'train', status: 'succeeded', durationSeconds: 20 },
      { name: 'evaluate', status: 'failed' },
    ],
  };

  it('draws the step graph in order, marking cached and failed steps, with the run\'s error', () => {
    const html = renderRuns([run]);

    expect([...html.matchAll(/data-step="([^"]+)"/g)].map((match) => match[1])).toEqual(['preprocess', 'train', 'evaluate']);
    expect(html).toContain('<li class="step succeeded cached" data-step="preprocess"');
    expect(html).toContain('cached from abalone-age-0');
    expect(html).toContain('<li class="step failed" data-step="evaluate"');
    expect(html).toContain('<p class="error">QualityGateFailed: mse 9 &#62; 5</p>');
    expect(html).toContain('42 s');
  });

  it('marks a running step as running, newest run first', () => {
    const running: RunStatus = { ...run, name: 'abalone-age-2', status: 'RUNNING', startDate: '2026-12-04T10:00:00.000Z', stopDate: undefined, error: undefined, steps: [{ name: 'train', status: 'running' }] };

    const html = renderRuns([run, running]);

    expect(html.indexOf('abalone-age-2')).toBeLessThan(html.indexOf('abalone-age-1'));
    expect(html).toContain('<li class="step running" data-step="train"');
  });

  it('says how to start a run when there is none', () => {
    expect(renderRuns([])).toContain('No runs yet');
  });

  it('escapes names from repositories', () => {
    expect(renderRuns([{ ...run, name: '<img src=x onerror=alert(1)>' }])).not.toContain('<img');
  });
});

describe('renderModelVersions', () => {
  const endpoints: EndpointStatus[] = [{ name: `${GROUP}-staging`, status: 'InService', modelVersion: `${GROUP}/2` }];

  it('charts each metric across the group\'s versions and lists the versions newest first', () => {
    const html = renderModelVersions([version(1, 'Rejected', 6), version(2, 'Approved', 4), version(3, 'PendingManualApproval', 5)], endpoints);

    expect(html).toContain(`<section class="group" data-group="${GROUP}">`);
    expect(count(html, /<figure class="metric"/)).toBe(2);
    const mseChart = /data-metric="regression_metrics.mse">.*?<\/figure>/.exec(html)![0];
    expect(count(mseChart, /<circle /)).toBe(3);
    expect([...html.matchAll(/<tr data-version="([^"]+)"/g)].map((match) => match[1])).toEqual([`${GROUP}/3`, `${GROUP}/2`, `${GROUP}/1`]);
  });

  it('offers approve/reject to a pending version, promote/reject to an approved one, approve to a rejected one', () => {
    const html = renderModelVersions([version(1, 'Rejected'), version(2, 'Approved'), version(3, 'PendingManualApproval')], []);
    const actionsOf = (number: number) => [...new RegExp(`<tr data-version="${GROUP}/${number}">.*?</tr>`).exec(html)![0].matchAll(/data-action="(\w+)"/g)].map((match) => match[1]);

    expect(actionsOf(3)).toEqual(['approve', 'reject']);
    expect(actionsOf(2)).toEqual(['reject', 'promote']);
    expect(actionsOf(1)).toEqual(['approve']);
  });

  it('shows the metric values, the commit and the endpoints serving a version', () => {
    const html = renderModelVersions([version(2, 'Approved', 4)], endpoints);

    expect(html).toContain('<span>regression_metrics.mse <b>4</b></span>');
    expect(html).toContain('<code>2abcdef</code>');
    expect(html).toContain(`<td>${GROUP}-staging</td>`);
  });

  it('draws no chart for versions without metrics', () => {
    const html = renderModelVersions([version(1, 'PendingManualApproval')], []);

    expect(html).not.toContain('<figure');
    expect(html).toContain('<td class="metrics">—</td>');
  });
});

describe('renderEndpoints', () => {
  it('shows each endpoint\'s status, the version it serves and how traffic is split', () => {
    const html = renderEndpoints([
      {
        name: 'b-prod',
        status: 'InService',
        modelVersion: `${GROUP}/1, ${GROUP}/2`,
        variants: [
          { name: 'blue', modelVersion: `${GROUP}/1`, trafficPercent: 90 },
          { name: 'green', modelVersion: `${GROUP}/2`, trafficPercent: 10 },
        ],
      },
      { name: 'a-staging', status: 'InService', modelVersion: `${GROUP}/2`, endpointConfig: 'a-staging-config', variants: [{ name: 'AllTraffic', modelVersion: `${GROUP}/2`, trafficPercent: 100 }] },
      { name: 'c-broken', status: 'Failed', failureReason: 'health check failed' },
      { name: 'd-prod', status: 'Updating', modelVersion: `${GROUP}/1`, variants: [{ name: 'AllTraffic', modelVersion: `${GROUP}/1`, trafficPercent: 100 }], pending: { endpointConfig: 'd-prod-config-3', modelVersion: `${GROUP}/3` } },
    ]);

    expect([...html.matchAll(/data-endpoint="([^"]+)"/g)].map((match) => match[1])).toEqual(['a-staging', 'b-prod', 'c-broken', 'd-prod']);
    expect(html).toContain(`<td class="served">${GROUP}/2</td><td class="traffic">all traffic (AllTraffic)</td>`);
    expect(html).toContain(`<td class="traffic">${GROUP}/1 90% · ${GROUP}/2 10%</td>`);
    expect(html).toContain(`<td class="traffic">all traffic (AllTraffic) → updating to ${GROUP}/3</td>`);
    expect(html).toContain('<p class="error">health check failed</p>');
  });

  it('says how to get an endpoint when there is none', () => {
    expect(renderEndpoints([])).toContain('approve a version to deploy it');
  });
});

describe('renderLineage and confirmation', () => {
  it('shows commit, run, training job and endpoints', () => {
    const html = renderLineage({ version: `${GROUP}/2`, modelPackageArn: arn(2), approval: 'Approved', repository: 'abalone', branch: 'main', commit: '0123456789abcdef', trainingJob: 'abalone-train-1', endpoints: [{ name: `${GROUP}-staging`, status: 'InService' }] });

    expect(html).toContain('<dd>abalone main@0123456789ab</dd>');
    expect(html).toContain('<dd>abalone-train-1</dd>');
    expect(html).toContain(`<dd>${GROUP}-staging (InService)</dd>`);
  });

  it('asks before each action, saying what follows', () => {
    expect(confirmation('approve', 'g/1')).toBe('Approve g/1? An approved version is deployed to staging.');
    expect(confirmation('reject', 'g/1')).toContain('previous approved version');
    expect(confirmation('promote', 'g/1')).toContain('prod gate');
  });

  it('escapes the five HTML-special characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });
});

describe('refreshDelay', () => {
  const still = { runs: [], modelVersions: [], endpoints: [{ name: 'e', status: 'InService' }] };

  it('refreshes every 3 s while a run runs or an endpoint changes', () => {
    expect(refreshDelay({ ...still, runs: [{ stateMachine: 'm', name: 'r', status: 'RUNNING', steps: [] }] })).toBe(3000);
    expect(refreshDelay({ ...still, endpoints: [{ name: 'e', status: 'Updating' }] })).toBe(3000);
  });

  it('refreshes every 15 s when all is still', () => {
    expect(refreshDelay({ ...still, runs: [{ stateMachine: 'm', name: 'r', status: 'SUCCEEDED', steps: [] }] })).toBe(15_000);
  });
});
