import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  DescribeModelPackageCommand,
  ListEndpointsCommand,
  ListModelPackageGroupsCommand,
  ListModelPackagesCommand,
  SageMakerClient,
  UpdateModelPackageCommand,
  type ModelApprovalStatus,
} from '@aws-sdk/client-sagemaker';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, type HistoryEvent, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';

import { MODEL_PACKAGE_ARN, parseModelPackageArn } from '../shared/naming';
import { stepOfState } from '../shared/pipeline/compile';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../local/context';
import { LOCAL_CREDENTIALS } from '../local/runtime';

/**
 * `sluice status` and `sluice approve|reject`: read and change the loop through the same AWS APIs
 * a user would call (Step Functions, SageMaker, S3) — against the local runtime or, with the
 * endpoint left to the SDK's defaults, against AWS.
 */

export interface RunStatus {
  stateMachine: string;
  name: string;
  status: string;
  startDate?: string;
  stopDate?: string;
  error?: string;
  cause?: string;
  /** The pipeline's steps entered, in order, with how each ended and where a reused result came from. */
  steps: StepStatus[];
}

export interface StepStatus {
  name: string;
  status: 'running' | 'succeeded' | 'failed';
  /** From entering the step to leaving it (succeeded steps). */
  durationSeconds?: number;
  /** The run whose identical job this step reused (cache hit). */
  cachedFrom?: string;
  /** The run this step's result was carried over from (a run started from a later step). */
  reusedFrom?: string;
}

export interface ModelVersionStatus {
  arn: string;
  group: string;
  version: number;
  approval: string;
  created?: string;
  metadata?: Record<string, string>;
  /** evaluation.json the ModelMetrics point at, when readable. */
  metrics?: unknown;
}

export interface EndpointStatus {
  name: string;
  status: string;
  failureReason?: string;
  endpointConfig?: string;
  /**
   * The model version(s) the endpoint config serves, as `<group>/<version>` (the model package
   * behind each production variant's model; several when variants differ). Absent when the config
   * or its models are gone or were not created from a model package.
   */
  modelVersion?: string;
}

export interface Status {
  runs: RunStatus[];
  modelVersions: ModelVersionStatus[];
  endpoints: EndpointStatus[];
}

function clients(endpoint: string | undefined) {
  const common = { region: LOCAL_REGION, ...(endpoint ? { endpoint, credentials: LOCAL_CREDENTIALS } : {}) };
  return { sfn: new SFNClient(common), sageMaker: new SageMakerClient(common), s3: new S3Client({ ...common, forcePathStyle: true }) };
}

/** An execution's whole history, oldest first (every page of GetExecutionHistory). */
export async function executionHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** Where a step's result came from, read from its state's output (`$.steps['<name>']`). */
function provenance(name: string, output: string | undefined): Pick<StepStatus, 'cachedFrom' | 'reusedFrom'> {
  if (!output) return {};
  try {
    const result = (JSON.parse(output) as { steps?: Record<string, { CachedFrom?: string | null; ReusedFrom?: string | null }> }).steps?.[name];
    return { ...(result?.CachedFrom ? { cachedFrom: result.CachedFrom } : {}), ...(result?.ReusedFrom ? { reusedFrom: result.ReusedFrom } : {}) };
  } catch {
    return {};
  }
}

/** Steps of one execution from its history: each step entered, whether it exited, and cache hits. A redriven run's steps are shown once, as they ended last. */
async function steps(sfn: SFNClient, executionArn: string): Promise<RunStatus['steps']> {
  const result: StepStatus[] = [];
  const enteredAt = new Map<string, number>();
  for (const event of await executionHistory(sfn, executionArn)) {
    const type = event.type ?? '';
    if (type.endsWith('StateEntered') && event.stateEnteredEventDetails?.name && stepOfState(event.stateEnteredEventDetails.name) === event.stateEnteredEventDetails.name) {
      const name = event.stateEnteredEventDetails.name;
      const earlier = result.findIndex((step) => step.name === name);
      if (earlier >= 0) result.splice(earlier, 1);
      result.push({ name, status: 'running' });
      if (event.timestamp) enteredAt.set(name, new Date(event.timestamp).getTime());
    } else if (type.endsWith('StateExited') && event.stateExitedEventDetails?.name) {
      const { name, output } = event.stateExitedEventDetails;
      const step = [...result].reverse().find((s) => s.name === name && s.status === 'running');
      const entered = enteredAt.get(name);
      const durationSeconds = entered !== undefined && event.timestamp ? Math.round((new Date(event.timestamp).getTime() - entered) / 100) / 10 : undefined;
      if (step) Object.assign(step, { status: 'succeeded' }, durationSeconds === undefined ? {} : { durationSeconds }, provenance(name, output));
    } else if (type === 'ExecutionFailed' || type === 'ExecutionTimedOut' || type === 'ExecutionAborted') {
      for (const step of result) if (step.status === 'running') step.status = 'failed';
    }
  }
  return result;
}

async function readJson(s3: S3Client, uri: string): Promise<unknown> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) return undefined;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
    return JSON.parse(await object.Body!.transformToString()) as unknown;
  } catch {
    return undefined;
  }
}

/** `<group>/<version>` of a model package ARN; anything else (e.g. an unversioned name) as it is. */
export function versionOf(modelPackageName: string): string {
  const parsed = parseModelPackageArn(modelPackageName);
  return parsed ? `${parsed.group}/${parsed.version}` : modelPackageName;
}

/**
 * What an endpoint config serves: EndpointConfig → ProductionVariants[].ModelName → Model →
 * PrimaryContainer (or first of Containers).ModelPackageName → `<group>/<version>`, distinct
 * versions joined with ", ". Undefined when nothing along the way names a model package (or a
 * describe fails, e.g. a model cleaned up behind a live config): status should still answer.
 */
async function servedVersion(sageMaker: SageMakerClient, endpointConfigName: string | undefined): Promise<string | undefined> {
  if (!endpointConfigName) return undefined;
  try {
    const config = await sageMaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpointConfigName }));
    const versions: string[] = [];
    for (const variant of config.ProductionVariants ?? []) {
      if (!variant.ModelName) continue;
      const model = await sageMaker.send(new DescribeModelCommand({ ModelName: variant.ModelName }));
      const packageName = model.PrimaryContainer?.ModelPackageName ?? model.Containers?.[0]?.ModelPackageName;
      if (packageName && !versions.includes(versionOf(packageName))) versions.push(versionOf(packageName));
    }
    return versions.length > 0 ? versions.join(', ') : undefined;
  } catch {
    return undefined;
  }
}

/** Gathers runs (newest first, at most `limit` per state machine), model versions and endpoints. */
export async function getStatus(endpoint: string | undefined, limit = 20): Promise<Status> {
  const { sfn, sageMaker, s3 } = clients(endpoint);
  try {
    const runs: RunStatus[] = [];
    for (const machine of (await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []) {
      const executions = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn, maxResults: limit }))).executions ?? [];
      for (const execution of executions) {
        const detail = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
        runs.push({
          stateMachine: machine.name ?? '',
          name: execution.name ?? '',
          status: detail.status ?? 'UNKNOWN',
          startDate: detail.startDate?.toISOString(),
          stopDate: detail.stopDate?.toISOString(),
          error: detail.error,
          cause: detail.cause,
          steps: await steps(sfn, execution.executionArn!),
        });
      }
    }
    const modelVersions: ModelVersionStatus[] = [];
    for (const group of (await sageMaker.send(new ListModelPackageGroupsCommand({ MaxResults: 100 }))).ModelPackageGroupSummaryList ?? []) {
      const packages = (await sageMaker.send(new ListModelPackagesCommand({ ModelPackageGroupName: group.ModelPackageGroupName, MaxResults: 100, SortBy: 'CreationTime', SortOrder: 'Descending' }))).ModelPackageSummaryList ?? [];
      for (const summary of packages) {
        const described = await sageMaker.send(new DescribeModelPackageCommand({ ModelPackageName: summary.ModelPackageArn }));
        const statistics = described.ModelMetrics?.ModelQuality?.Statistics?.S3Uri;
        modelVersions.push({
          arn: summary.ModelPackageArn ?? '',
          group: group.ModelPackageGroupName ?? '',
          version: summary.ModelPackageVersion ?? 0,
          approval: described.ModelApprovalStatus ?? 'Unknown',
          created: described.CreationTime?.toISOString(),
          metadata: described.CustomerMetadataProperties,
          metrics: statistics ? await readJson(s3, statistics) : undefined,
        });
      }
    }
    const endpoints: EndpointStatus[] = [];
    for (const summary of (await sageMaker.send(new ListEndpointsCommand({ MaxResults: 100 }))).Endpoints ?? []) {
      const described = await sageMaker.send(new DescribeEndpointCommand({ EndpointName: summary.EndpointName }));
      endpoints.push({
        name: summary.EndpointName ?? '',
        status: described.EndpointStatus ?? 'Unknown',
        failureReason: described.FailureReason,
        endpointConfig: described.EndpointConfigName,
        modelVersion: await servedVersion(sageMaker, described.EndpointConfigName),
      });
    }
    return { runs, modelVersions, endpoints };
  } finally {
    sfn.destroy();
    sageMaker.destroy();
    s3.destroy();
  }
}

/** Accepts a model package ARN or `<group>/<version>`; throws naming the expected forms otherwise. */
export function modelPackageArn(reference: string, region = LOCAL_REGION, accountId = LOCAL_ACCOUNT_ID): string {
  if (MODEL_PACKAGE_ARN.test(reference)) return reference;
  const match = /^([a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})\/(\d+)$/.exec(reference);
  if (!match) throw new Error(`model package: expected an ARN (arn:aws:sagemaker:…:model-package/<group>/<version>) or <group>/<version>, got "${reference}"`);
  return `arn:aws:sagemaker:${region}:${accountId}:model-package/${match[1]}/${match[3]}`;
}

/** Sets a version's approval status (UpdateModelPackage); SageMaker then emits its state-change event. */
export async function setApproval(endpoint: string | undefined, reference: string, status: ModelApprovalStatus, description?: string): Promise<string> {
  const arn = modelPackageArn(reference);
  const { sageMaker } = clients(endpoint);
  try {
    await sageMaker.send(new UpdateModelPackageCommand({ ModelPackageArn: arn, ModelApprovalStatus: status, ApprovalDescription: description }));
    return arn;
  } finally {
    sageMaker.destroy();
  }
}

/**
 * Releases the prod gate of the deploy waiting on this version: publishes `Model Promotion
 * Approved` on the service's bus (functions/on-promotion completes the waiting task). The same
 * event is the documented API for tools other than this CLI.
 */
export async function promote(endpoint: string | undefined, reference: string, busName: string, approvedBy = 'sluice promote'): Promise<string> {
  const arn = modelPackageArn(reference);
  const client = new EventBridgeClient({ region: LOCAL_REGION, ...(endpoint ? { endpoint, credentials: LOCAL_CREDENTIALS } : {}) });
  try {
    const result = await client.send(
      new PutEventsCommand({ Entries: [{ EventBusName: busName, Source: 'sluice', DetailType: 'Model Promotion Approved', Detail: JSON.stringify({ modelPackageArn: arn, approvedBy }) }] }),
    );
    if (result.FailedEntryCount) throw new Error(`promotion event not accepted: ${result.Entries?.[0]?.ErrorCode}: ${result.Entries?.[0]?.ErrorMessage}`);
    return arn;
  } finally {
    client.destroy();
  }
}

/** Human-readable status. */
export function formatStatus(status: Status): string {
  const lines: string[] = ['Runs'];
  if (status.runs.length === 0) lines.push('  (none)');
  for (const run of status.runs) {
    lines.push(`  ${run.status.padEnd(9)} ${run.stateMachine}/${run.name}${run.error ? `  ${run.error}: ${run.cause ?? ''}` : ''}`);
    const executionName = (arn: string) => arn.split(':').at(-1) ?? arn;
    const mark = (step: StepStatus) =>
      `${step.name}${step.status === 'succeeded' ? ' ✓' : step.status === 'failed' ? ' ✗' : ' …'}${step.durationSeconds === undefined ? '' : ` ${step.durationSeconds} s`}${step.cachedFrom ? ` (cached from ${executionName(step.cachedFrom)})` : ''}${step.reusedFrom ? ` (reused from ${executionName(step.reusedFrom)})` : ''}`;
    lines.push(`            ${run.steps.map(mark).join(' → ')}`);
  }
  lines.push('Model versions');
  if (status.modelVersions.length === 0) lines.push('  (none)');
  for (const version of status.modelVersions) {
    lines.push(`  ${version.group}/${version.version}  ${version.approval}  ${version.metrics ? JSON.stringify(version.metrics) : ''}  ${version.arn}`);
  }
  lines.push('Endpoints');
  if (status.endpoints.length === 0) lines.push('  (none)');
  for (const endpoint of status.endpoints) {
    lines.push(`  ${endpoint.name}  ${endpoint.status}${endpoint.modelVersion ? `  ${endpoint.modelVersion}` : ''}${endpoint.failureReason ? `  ${endpoint.failureReason}` : ''}`);
  }
  return lines.join('\n');
}
