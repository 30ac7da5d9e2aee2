import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeEndpointCommand, DescribeModelPackageCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { type Browser, chromium, type Page } from 'playwright-core';

import { getStatus } from '../../cli/status';
import { localTarget } from '../../cli/target';
import { freePort } from '../../local/http/free-port';
import { EXAMPLE_DIR, pushDirectory, seedExample } from '../../local/seed';
import { ROOT } from '../helpers/fixtures';
import { eventually, processesMentioning, type RuntimeProcess, runtimeEvents, startRuntime } from '../helpers/runtime-process';

/**
 * The dashboard in a real headless Chromium (Debian's, driven by playwright-core) against the
 * local runtime: a pushed example registers a version; the page lists it with its metric; approving
 * it from the page (through the confirmation dialog) deploys it to staging, and promoting it
 * releases the prod gate. The screenshot in the README is one this test took.
 */

/** Debian's Chromium; .ci/run installs it. */
const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const GROUP = 'sluice-local--abalone';
const VERSION = `${GROUP}/1`;
const STAGING = `${GROUP}-staging`;
const PROD = `${GROUP}-prod`;
/**
 * Where the screenshot goes: the test's own temporary folder, so that a test run leaves the checkout
 * as it was; `SLUICE_DASHBOARD_SCREENSHOT=docs/dashboard.png` refreshes the README's (see its Dashboard section).
 */
const screenshotPath = (): string => (process.env.SLUICE_DASHBOARD_SCREENSHOT ? join(ROOT, process.env.SLUICE_DASHBOARD_SCREENSHOT) : join(dataDir, 'dashboard.png'));

let dataDir: string;
let runtime: RuntimeProcess;
let browser: Browser;
let page: Page;
let sageMaker: SageMakerClient;
let seededCommit: string;
const pageErrors: string[] = [];
/** Every answer of 400 or more the page got, as `<status> <path>`. */
const failedResponses: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium; .ci/run does) or point SLUICE_CHROMIUM at a Chromium binary`);
  }
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-dashboard-'));
  runtime = await startRuntime({ dataDir: join(dataDir, 'runtime') });
  sageMaker = new SageMakerClient({ endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    // Failed loads are checked one by one through failedResponses.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
  });
  page.on('response', (response) => {
    if (response.status() >= 400) failedResponses.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  sageMaker?.destroy();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

/** The row of a version or an endpoint on the page. */
const versionRow = () => page.locator(`tr[data-version="${VERSION}"]`);
const endpointRow = (name: string) => page.locator(`tr[data-endpoint="${name}"]`);

/** Clicks an action's button on the version's row, checks the dialog's question, and confirms. */
async function confirmAction(action: 'approve' | 'promote', question: string, note?: string): Promise<void> {
  await versionRow().locator(`button[data-action="${action}"]`).click();
  const dialog = page.locator('dialog#confirm');
  await dialog.waitFor({ state: 'visible' });
  expect(await dialog.locator('#confirm-text').textContent()).toContain(question);
  if (note) await dialog.locator('#confirm-note').fill(note);
  await dialog.locator('#confirm-ok').click();
  await dialog.waitFor({ state: 'hidden' });
}

describe('the dashboard on the local runtime, in headless Chromium', () => {
  it('lists the registered version with its metric, charted, and the build run with its steps', async () => {
    const seeded = await seedExample(runtime.endpoint);
    seededCommit = seeded.commit!;
    const outcome = await eventually(
      runtime,
      () => runtimeEvents(join(dataDir, 'runtime')).find((e) => e.source === 'sluice' && ['Model Build Succeeded', 'Model Build Failed'].includes(e['detail-type']) && e.detail.commit === seeded.commit),
      'the build of the example',
      240_000,
    );
    expect(outcome['detail-type']).toBe('Model Build Succeeded');
    const mse = (await getStatus(localTarget(runtime.endpoint))).modelVersions.find((v) => v.group === GROUP)?.metrics as { regression_metrics: { mse: { value: number } } };

    await page.goto(`${runtime.endpoint}/dashboard/`);
    await versionRow().waitFor({ timeout: 30_000 });

    expect(await versionRow().locator('.badge').textContent()).toBe('PendingManualApproval');
    const shown = await versionRow().locator('.metrics').textContent();
    expect(shown).toContain('regression_metrics.mse');
    expect(Number(/regression_metrics\.mse (\S+)/.exec(shown ?? '')?.[1])).toBeCloseTo(mse.regression_metrics.mse.value, 2);
    expect(await page.locator(`section[data-group="${GROUP}"] figure[data-metric="regression_metrics.mse"] svg circle`).count()).toBe(1);
    const run = page.locator('article.run.succeeded').first();
    expect(await run.locator('li.step').count()).toBeGreaterThanOrEqual(3);
    expect(await run.locator('li.step.succeeded').count()).toBe(await run.locator('li.step').count());
  }, 300_000);

  it('refuses an approval posted without the page token, from the page itself', async () => {
    const status = await page.evaluate(async (reference) => {
      const response = await fetch('api/approve', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reference }) });
      return response.status;
    }, VERSION);

    expect(status).toBe(403);
    const described = await sageMaker.send(new DescribeModelPackageCommand({ ModelPackageName: `arn:aws:sagemaker:us-east-1:123456789012:model-package/${VERSION}` }));
    expect(described.ModelApprovalStatus).toBe('PendingManualApproval');
  }, 30_000);

  it('approves from the page after confirmation: the version deploys and the page shows staging serving it', async () => {
    await confirmAction('approve', `Approve ${VERSION}?`, 'approved from the dashboard test');

    await page.waitForFunction(
      ([name, version]) => {
        const row = document.querySelector(`tr[data-endpoint="${name}"]`);
        return row?.querySelector('.badge')?.textContent === 'InService' && row.querySelector('.served')?.textContent === version;
      },
      [STAGING, VERSION] as const,
      { timeout: 240_000, polling: 500 },
    );

    expect(await versionRow().locator('.badge').textContent()).toBe('Approved');
    const described = await sageMaker.send(new DescribeModelPackageCommand({ ModelPackageName: `arn:aws:sagemaker:us-east-1:123456789012:model-package/${VERSION}` }));
    expect(described.ModelApprovalStatus).toBe('Approved');
    expect(described.ApprovalDescription).toBe('approved from the dashboard test');
    expect((await sageMaker.send(new DescribeEndpointCommand({ EndpointName: STAGING }))).EndpointStatus).toBe('InService');
    expect((await getStatus(localTarget(runtime.endpoint))).endpoints.find((e) => e.name === STAGING)?.modelVersion).toBe(VERSION);
    expect(await endpointRow(STAGING).textContent()).toContain('all traffic');
  }, 300_000);

  it('shows the deploy live, waiting at the prod gate, and the version\'s lineage on a click', async () => {
    const waiting = page.locator('article.run.running li.step.running[data-step="WaitForPromotion"]');
    await waiting.waitFor({ timeout: 30_000 });

    await versionRow().locator('a.lineage').click();
    const lineage = page.locator('dialog#lineage');
    await lineage.waitFor({ state: 'visible' });
    const text = await lineage.locator('#lineage-body').textContent();
    await lineage.locator('button').click();

    expect(text).toContain(`abalone main@${seededCommit.slice(0, 12)}`);
    expect(text).toContain(`${STAGING} (InService)`);
  }, 60_000);

  it('promotes from the page: the prod gate opens and prod serves the version', async () => {
    await confirmAction('promote', `Promote ${VERSION} to prod?`);

    await page.waitForFunction(
      ([name, version]) => {
        const row = document.querySelector(`tr[data-endpoint="${name}"]`);
        return row?.querySelector('.badge')?.textContent === 'InService' && row.querySelector('.served')?.textContent === version;
      },
      [PROD, VERSION] as const,
      { timeout: 240_000, polling: 500 },
    );

    expect((await sageMaker.send(new DescribeEndpointCommand({ EndpointName: PROD }))).EndpointStatus).toBe('InService');
    await page.locator('article.run.running').waitFor({ state: 'detached', timeout: 30_000 });
  }, 300_000);

  it('charts the metric across versions once a second push registers version 2, beside its build run', async () => {
    const mlops = readFileSync(join(EXAMPLE_DIR, 'mlops.yaml'), 'utf8');
    const commit = await pushDirectory(runtime.endpoint, 'abalone', EXAMPLE_DIR, { message: 'fewer trees', changes: { 'mlops.yaml': mlops.replace('num_round: 50', 'num_round: 20') } });
    const outcome = await eventually(
      runtime,
      () => runtimeEvents(join(dataDir, 'runtime')).find((e) => e.source === 'sluice' && ['Model Build Succeeded', 'Model Build Failed'].includes(e['detail-type']) && e.detail.commit === commit),
      'the build of the second commit',
      240_000,
    );
    expect(outcome['detail-type']).toBe('Model Build Succeeded');

    const second = page.locator(`tr[data-version="${GROUP}/2"]`);
    await second.waitFor({ timeout: 60_000 });

    expect(await second.locator('.badge').textContent()).toBe('PendingManualApproval');
    expect(await page.locator(`section[data-group="${GROUP}"] figure[data-metric="regression_metrics.mse"] svg circle`).count()).toBe(2);
    const newestBuild = page.locator(`article.run[data-run*="${commit}"]`);
    expect(await newestBuild.locator('.badge').first().textContent()).toBe('SUCCEEDED');
    await page.screenshot({ path: screenshotPath(), fullPage: true });
    expect(existsSync(screenshotPath())).toBe(true);
  }, 300_000);

  it('is served by `sluice dashboard` on its own loopback port, reading the same APIs', async () => {
    const port = await freePort();
    const child: ChildProcess = spawn(join(ROOT, 'bin', 'sluice'), ['dashboard', '--port', String(port), '--endpoint', runtime.endpoint, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const url = await eventually(runtime, () => (output.includes('}') ? (JSON.parse(output) as { url: string }).url : undefined), 'the dashboard URL', 60_000);
      expect(url).toBe(`http://127.0.0.1:${port}/dashboard/`);

      const own = await browser.newPage();
      await own.goto(url);
      await own.locator(`tr[data-version="${VERSION}"] .badge`).waitFor({ timeout: 30_000 });

      expect(await own.locator(`tr[data-version="${VERSION}"] .badge`).textContent()).toBe('Approved');
    expect(await own.locator(`tr[data-endpoint="${PROD}"] .served`).textContent()).toBe(VERSION);
      expect(await own.locator('.target').textContent()).toBe(runtime.endpoint);
      await own.close();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 120_000);

  it('leaves S3 requests to a bucket named "dashboard" to S3', async () => {
    const s3 = new S3Client({ endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'dashboard' }));
      await s3.send(new PutObjectCommand({ Bucket: 'dashboard', Key: 'api/status', Body: 'an object' }));

      const object = await s3.send(new GetObjectCommand({ Bucket: 'dashboard', Key: 'api/status' }));

      expect(await object.Body!.transformToString()).toBe('an object');
    } finally {
      s3.destroy();
    }
  }, 30_000);

  it('ran without a script error or a failed load (but the refused approval), and leaves no process behind once the runtime stops', async () => {
    expect(pageErrors).toEqual([]);
    expect(failedResponses).toEqual(['403 /dashboard/api/approve']);

    await browser.close();
    await runtime.stop();

    expect(processesMentioning(dataDir)).toEqual([]);
  }, 60_000);
});
