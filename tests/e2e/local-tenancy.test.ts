import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ListModelPackageGroupsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { type DescribeExecutionCommandOutput, SFNClient } from '@aws-sdk/client-sfn';

import { createRepository, EXAMPLE_DIR, pushDirectory } from '../../local/seed';
import type { EventBridgeEvent } from '../../local/eventbridge/service';
import { eventually, type RuntimeProcess, runtimeEvents, runsOfMachines, startRuntime } from '../helpers/runtime-process';

/**
 * Tenancy on the local runtime, as a repository's owner meets it: a push whose mlops.yaml registers
 * into another repository's model package group, or approves its own versions where the stage does
 * not allow it, fails at once as a rejected build (Model Build Failed with the field named) and
 * registers nothing. The local stage lets `sandbox-*` repositories approve their own versions
 * (serverless.yml params.local.selfApprovalRepositories): the same file there starts its pipeline.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const EXAMPLE_TEXT = readFileSync(join(EXAMPLE_DIR, 'mlops.yaml'), 'utf8');

let dataDir: string;
let runtime: RuntimeProcess;
let sfn: SFNClient;
let sageMaker: SageMakerClient;

/** The example's mlops.yaml with its Register section's `field` set to `value`. */
function exampleWith(field: 'ModelPackageGroupName' | 'ModelApprovalStatus', value: string): string {
  const line = new RegExp(`^ {2}${field}: .*$`, 'm');
  const text = line.test(EXAMPLE_TEXT) ? EXAMPLE_TEXT.replace(line, `  ${field}: ${value}`) : EXAMPLE_TEXT.replace(/^Register:\n/m, `Register:\n  ${field}: ${value}\n`);
  if (!text.includes(`  ${field}: ${value}`)) throw new Error(`examples/abalone/mlops.yaml has no Register section to set ${field} in`);
  return text;
}

/** Pushes the abalone example with `mlopsYaml` to a new repository; returns the commit. */
async function push(repository: string, mlopsYaml: string): Promise<string> {
  await createRepository(runtime.endpoint, repository);
  return pushDirectory(runtime.endpoint, repository, EXAMPLE_DIR, { changes: { 'mlops.yaml': mlopsYaml } });
}

/** The event the runtime delivered that `match` accepts, waiting for it. */
function delivered(match: (event: EventBridgeEvent) => boolean, what: string): Promise<EventBridgeEvent> {
  return eventually(runtime, () => runtimeEvents(dataDir).find(match), what);
}

const buildFailed = (commit: string) => (event: EventBridgeEvent) => event['detail-type'] === 'Model Build Failed' && (event.detail as { commit?: string }).commit === commit;

/** The runs of every state machine whose name starts with `prefix`. */
function runsOf(prefix: string): Promise<DescribeExecutionCommandOutput[]> {
  return runsOfMachines(sfn, (name) => name.startsWith(prefix));
}

async function groupNames(): Promise<string[]> {
  return ((await sageMaker.send(new ListModelPackageGroupsCommand({ MaxResults: 100 }))).ModelPackageGroupSummaryList ?? []).map((group) => group.ModelPackageGroupName ?? '');
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-tenancy-'));
  runtime = await startRuntime({ dataDir });
  const options = { endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS };
  sfn = new SFNClient(options);
  sageMaker = new SageMakerClient(options);
}, 300_000);

afterAll(async () => {
  sfn?.destroy();
  sageMaker?.destroy();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('tenancy on the local runtime', () => {
  it('fails the push of a repository registering into another repository\'s group, naming the field, and creates no group', async () => {
    const commit = await push('intruder', exampleWith('ModelPackageGroupName', 'victim'));

    const failed = await delivered(buildFailed(commit), 'Model Build Failed of the intruder');

    expect(failed.detail).toMatchObject({ repository: 'intruder', step: 'Config', error: 'InvalidConfig' });
    expect((failed.detail as { cause: string }).cause).toContain('Register.ModelPackageGroupName: "victim" is not a group of repository intruder');
    expect(await groupNames()).not.toContain('sluice-local--victim');
    expect(await runsOf('sluice-local-build-intruder-')).toEqual([]);
  }, 120_000);

  it('fails the push of a file approving its own versions where the stage does not allow it, naming the field', async () => {
    const commit = await push('self-approver', exampleWith('ModelApprovalStatus', 'Approved'));

    const failed = await delivered(buildFailed(commit), 'Model Build Failed of the self-approver');

    expect(failed.detail).toMatchObject({ repository: 'self-approver', step: 'Config', error: 'InvalidConfig' });
    expect((failed.detail as { cause: string }).cause).toContain('Register.ModelApprovalStatus: "Approved" would deploy self-approver\'s versions without review');
  }, 120_000);

  it('starts the pipeline of the same self-approving file in a repository the stage allows (sandbox-*)', async () => {
    const group = exampleWith('ModelApprovalStatus', 'Approved').replace(/^ {2}ModelPackageGroupName: .*\n/m, '');
    await push('sandbox-abalone', group);

    const deadline = Date.now() + 60_000;
    let runs = await runsOf('sluice-local-build-sandbox-abalone-');
    while (runs.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      runs = await runsOf('sluice-local-build-sandbox-abalone-');
    }

    expect(runs).toHaveLength(1);
    expect(runs[0]!.cause ?? '').not.toContain('InvalidConfig');
  }, 120_000);
});
