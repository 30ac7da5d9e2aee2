import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type ExecutionListItem, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';

import { createRepository, EXAMPLE_DIR, LOCAL_ARTIFACTS_BUCKET, pushDirectory } from '../../local/seed';
import { awsCli, awsCliJson } from '../helpers/aws-cli';
import { type RuntimeProcess, startRuntime, waitUntil } from '../helpers/runtime-process';

/**
 * Builds that start without a push, on the local runtime as a user drives it: a repository whose
 * mlops.yaml declares `Triggers.Schedule` gets a rule (`aws events list-rules`) and a build when it
 * fires; files copied with `aws s3 cp` under the datasets/<name>/ a pipeline reads start exactly one
 * build of that repository (the burst is debounced: 10 s on the local stage), and none of another.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const SCHEDULED = 'scheduled-repo';
const READER = 'dataset-reader';
const DATASET = 'e2e-triggers';
const IMAGE = 'echo.local/echo:latest';

/** One quick Processing step (a non-ECR image the local stage runs from Local.Images), with a Triggers section. */
function mlopsYaml(options: { triggers: string; dataset?: string }): string {
  return `Version: 2
Steps:
  look:
    Type: Processing
    AppSpecification: { ImageUri: ${IMAGE} }
    ProcessingResources: { ClusterConfig: { InstanceType: ml.m5.large } }
${options.dataset ? `    Inputs:\n      raw: { Dataset: ${options.dataset} }\n` : ''}Triggers:
${options.triggers}
Local:
  Images:
    ${IMAGE}:
      Command: [sh, -c, 'ls -R /opt/ml/processing/input || true']
`;
}

let dataDir: string;
let uploads: string;
let runtime: RuntimeProcess;
let sfn: SFNClient;

/** Every execution (any status) of the state machines whose name contains `part`, oldest first. */
async function executionsOf(part: string): Promise<ExecutionListItem[]> {
  const machines = ((await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []).filter((machine) => machine.name?.includes(part));
  const executions: ExecutionListItem[] = [];
  for (const machine of machines) executions.push(...((await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn }))).executions ?? []));
  return executions.sort((a, b) => (a.startDate?.getTime() ?? 0) - (b.startDate?.getTime() ?? 0));
}

/** The build runs of `repository`: its compiled pipeline's executions (the rejected-build machine's too). */
async function buildsOf(repository: string): Promise<ExecutionListItem[]> {
  return (await executionsOf(`-build-`)).filter((execution) => execution.name?.startsWith(`${repository}-`));
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-triggers-'));
  uploads = mkdtempSync(join(tmpdir(), 'sluice-e2e-uploads-'));
  runtime = await startRuntime({ dataDir });
  sfn = new SFNClient({ endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
}, 180_000);

afterAll(async () => {
  sfn?.destroy();
  await runtime?.stop();
  for (const dir of [dataDir, uploads]) if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('scheduled and data-arrival builds on the local runtime', () => {
  it('puts the schedule rule a push asks for and starts a build of the branch head when it fires', async () => {
    await createRepository(runtime.endpoint, SCHEDULED);
    const commit = await pushDirectory(runtime.endpoint, SCHEDULED, EXAMPLE_DIR, { changes: { 'mlops.yaml': mlopsYaml({ triggers: '  Schedule: rate(1 minute)' }) } });

    const rules = await waitUntil(
      runtime,
      async () => (await awsCliJson<{ Rules: { Name: string; ScheduleExpression?: string; State: string }[] }>(runtime.endpoint, 'events', 'list-rules', '--name-prefix', 'sluice-local--schedule-')).Rules,
      (found) => found.some((rule) => rule.Name.startsWith(`sluice-local--schedule-${SCHEDULED}-`)),
      60_000,
      'the repository\'s schedule rule',
    );
    const rule = rules.find((item) => item.Name.startsWith(`sluice-local--schedule-${SCHEDULED}-`))!;
    expect(rule).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
    const targets = await awsCliJson<{ Targets: { Arn: string }[] }>(runtime.endpoint, 'events', 'list-targets-by-rule', '--rule', rule.Name);
    expect(targets.Targets).toEqual([expect.objectContaining({ Arn: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-local-onSourcePush' })]);

    // The push's own build, then the schedule's: a requested build (…-<commit>-run-<hash>) of the same commit.
    const builds = await waitUntil(runtime, () => buildsOf(SCHEDULED), (found) => found.some((execution) => execution.name?.includes('-run-')), 150_000, 'a build started by the schedule');
    expect(builds[0]!.name).toContain(commit.slice(0, 12));
    expect(builds.filter((execution) => execution.name?.includes('-run-'))[0]!.name).toContain(`${SCHEDULED}-${commit.slice(0, 12)}-run-`);
  }, 240_000);

  it('starts exactly one build of the repository that reads a dataset when a burst of files lands under it', async () => {
    // Data there before the repository reads it starts nothing.
    writeFileSync(join(uploads, 'part-0.csv'), '1,2,3\n');
    await awsCli(runtime.endpoint, ['s3', 'cp', join(uploads, 'part-0.csv'), `s3://${LOCAL_ARTIFACTS_BUCKET}/datasets/${DATASET}/part-0.csv`]);
    await createRepository(runtime.endpoint, READER);
    await pushDirectory(runtime.endpoint, READER, EXAMPLE_DIR, { changes: { 'mlops.yaml': mlopsYaml({ triggers: '  DataArrival: true', dataset: `${DATASET}/` }) } });
    await waitUntil(runtime, () => buildsOf(READER), (found) => found.length === 1, 60_000, 'the push\'s build');
    // The push records the dataset's reader before it starts its build.
    const before = (await executionsOf('dataset-build')).length;

    for (const part of [1, 2, 3]) {
      writeFileSync(join(uploads, `part-${part}.csv`), `${part},${part},${part}\n`);
      await awsCli(runtime.endpoint, ['s3', 'cp', join(uploads, `part-${part}.csv`), `s3://${LOCAL_ARTIFACTS_BUCKET}/datasets/${DATASET}/part-${part}.csv`]);
    }
    const listing = await awsCli(runtime.endpoint, ['s3', 'ls', `s3://${LOCAL_ARTIFACTS_BUCKET}/datasets/${DATASET}/`]);
    expect(listing).toContain('part-3.csv');

    const builds = await waitUntil(runtime, () => buildsOf(READER), (found) => found.length >= 2, 90_000, 'the data-arrival build');
    // Past the 10 s window and then some: no second build for the same burst.
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    const after = await buildsOf(READER);
    const debounces = (await executionsOf('dataset-build')).slice(before);

    expect(after).toHaveLength(2);
    expect(after[1]!.name).toBe(builds[1]!.name);
    expect(after[1]!.name).toContain('-run-');
    // One debounce run, the reader's: the scheduled repository reads no dataset.
    expect(debounces.map((execution) => [execution.name?.startsWith(`${READER}-data-`), execution.status])).toEqual([[true, 'SUCCEEDED']]);
  }, 240_000);
});
