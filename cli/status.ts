import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
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

import type { Target } from './target';

/**
 * `sluice status` and `sluice approve|reject`: read and change the loop through the same AWS APIs
 * a user would call (Step Functions, SageMaker, S3) — against the local runtime or a deployed
 * stage alike (the Target says which, and names the stage's resources).
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
  /** The production variants and the share of requests each gets (CurrentWeight over the weights' sum, in percent). */
  variants?: VariantStatus[];
  /** A deployment under way (blue/green): the config and version(s) the endpoint is moving to. */
  pending?: { endpointConfig: string; modelVersion?: string };
}

/** One production variant of an endpoint: the version it serves and its share of the traffic. */
export interface VariantStatus {
  name: string;
  modelVersion?: string;
  /** Percent of requests routed to this variant (0-100, rounded to one decimal). */
  trafficPercent: number;
  instances?: number;
}

export interface Status {
  runs: RunStatus[];
  modelVersions: ModelVersionStatus[];
  endpoints: EndpointStatus[];
}

function clients(target: Target) {
  const common = target.clientConfig;
  return { sfn: new SFNClient(common), sageMaker: new SageMakerClient(common), s3: new S3Client({ ...common, forcePathStyle: target.kind === 'local' }) };
}

/** Whether a state machine is one of the stage's: a compiled pipeline (build prefix) or the deploy machine. */
function isStageMachine(target: Target, name: string | undefined): boolean {
  return name !== undefined && (name.startsWith(target.names.buildStateMachinePrefix) || name === target.names.deployStateMachineName);
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

/**
 * Steps of one execution from its history: each step entered, whether it exited, and cache hits. A
 * redriven run's steps are shown once, as they ended last. A ForEach's inner steps run once per
 * item, at the same time: such a step is running while any item's is, and succeeded once all
 * items' have exited. Pure.
 */
export function stepsOf(history: readonly HistoryEvent[]): RunStatus['steps'] {
  const result: StepStatus[] = [];
  const enteredAt = new Map<string, number>();
  /** How many entries of each step have not exited yet (several for a ForEach's inner steps). */
  const open = new Map<string, number>();
  for (const event of history) {
    const type = event.type ?? '';
    if (type.endsWith('StateEntered') && event.stateEnteredEventDetails?.name && stepOfState(event.stateEnteredEventDetails.name) === event.stateEnteredEventDetails.name) {
      const name = event.stateEnteredEventDetails.name;
      const running = open.get(name) ?? 0;
      open.set(name, running + 1);
      if (running > 0) continue;
      const earlier = result.findIndex((step) => step.name === name);
      if (earlier >= 0) result.splice(earlier, 1);
      result.push({ name, status: 'running' });
      if (event.timestamp) enteredAt.set(name, new Date(event.timestamp).getTime());
    } else if (type.endsWith('StateExited') && event.stateExitedEventDetails?.name) {
      const { name, output } = event.stateExitedEventDetails;
      const running = Math.max(0, (open.get(name) ?? 1) - 1);
      open.set(name, running);
      if (running > 0) continue;
      const step = [...result].reverse().find((s) => s.name === name && s.status === 'running');
      const entered = enteredAt.get(name);
      const durationSeconds = entered !== undefined && event.timestamp ? Math.round((new Date(event.timestamp).getTime() - entered) / 100) / 10 : undefined;
      if (step) Object.assign(step, { status: 'succeeded' }, durationSeconds === undefined ? {} : { durationSeconds }, provenance(name, output));
    } else if (type === 'ExecutionFailed' || type === 'ExecutionTimedOut' || type === 'ExecutionAborted') {
      for (const step of result) if (step.status === 'running') step.status = 'failed';
      open.clear();
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
async function servedVersions(sageMaker: SageMakerClient, endpointConfigName: string | undefined): Promise<Map<string, string>> {
  const byVariant = new Map<string, string>();
  if (!endpointConfigName) return byVariant;
  try {
    const config = await sageMaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpointConfigName }));
    for (const variant of config.ProductionVariants ?? []) {
      if (!variant.ModelName || !variant.VariantName) continue;
      const model = await sageMaker.send(new DescribeModelCommand({ ModelName: variant.ModelName }));
      const packageName = model.PrimaryContainer?.ModelPackageName ?? model.Containers?.[0]?.ModelPackageName;
      if (packageName) byVariant.set(variant.VariantName, versionOf(packageName));
    }
  } catch {
    // The config or its models are gone (or were not made from a model package): nothing to name.
  }
  return byVariant;
}

/** The distinct versions of a config's variants, as `modelVersion` shows them. */
function joinedVersions(byVariant: Map<string, string>): string | undefined {
  const versions = [...new Set(byVariant.values())];
  return versions.length > 0 ? versions.join(', ') : undefined;
}

/** An endpoint's variants with their traffic share: CurrentWeight (DesiredWeight before the first) over the sum of weights. */
export function variantsOf(described: Pick<DescribeEndpointCommandOutput, 'ProductionVariants'>, versions: Map<string, string>): VariantStatus[] {
  const variants = described.ProductionVariants ?? [];
  const weightOf = (variant: (typeof variants)[number]) => variant.CurrentWeight ?? variant.DesiredWeight ?? 0;
  const total = variants.reduce((sum, variant) => sum + weightOf(variant), 0);
  return variants.map((variant) => ({
    name: variant.VariantName ?? '',
    ...(variant.VariantName && versions.has(variant.VariantName) ? { modelVersion: versions.get(variant.VariantName) } : {}),
    trafficPercent: total > 0 ? Math.round((weightOf(variant) / total) * 1000) / 10 : 0,
    ...(variant.CurrentInstanceCount === undefined ? {} : { instances: variant.CurrentInstanceCount }),
  }));
}

/** One run as status shows it: DescribeExecution and its history's steps. */
async function describeRun(sfn: SFNClient, executionArn: string): Promise<RunStatus> {
  const detail = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  return {
    stateMachine: detail.stateMachineArn?.split(':').at(-1) ?? '',
    name: detail.name ?? executionArn.split(':').at(-1) ?? '',
    status: detail.status ?? 'UNKNOWN',
    startDate: detail.startDate?.toISOString(),
    stopDate: detail.stopDate?.toISOString(),
    error: detail.error,
    cause: detail.cause,
    steps: stepsOf(await executionHistory(sfn, executionArn)),
  };
}

/** One run (execution ARN) with its steps, as `sluice status` shows it. */
export async function getRun(target: Target, executionArn: string): Promise<RunStatus> {
  const sfn = new SFNClient(target.clientConfig);
  try {
    return await describeRun(sfn, executionArn);
  } finally {
    sfn.destroy();
  }
}

/** Every page of ListStateMachines: the stage's machines (its pipelines and the deploy machine). */
async function stageMachines(sfn: SFNClient, target: Target): Promise<{ name: string; stateMachineArn: string }[]> {
  const machines: { name: string; stateMachineArn: string }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ nextToken }));
    for (const machine of page.stateMachines ?? []) if (isStageMachine(target, machine.name) && machine.stateMachineArn) machines.push({ name: machine.name!, stateMachineArn: machine.stateMachineArn });
    nextToken = page.nextToken;
  } while (nextToken);
  return machines;
}

/**
 * Gathers the stage's runs (newest first, at most `limit` per state machine), model versions and
 * endpoints — only the target stage's (names under its prefixes), so other stages and other stacks
 * in the same account stay out.
 */
export async function getStatus(target: Target, limit = 20): Promise<Status> {
  const { sfn, sageMaker, s3 } = clients(target);
  const ofStage = (name: string | undefined) => name?.startsWith(target.names.resourcePrefix) === true;
  try {
    const runs: RunStatus[] = [];
    for (const machine of await stageMachines(sfn, target)) {
      const executions = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn, maxResults: limit }))).executions ?? [];
      for (const execution of executions) runs.push(await describeRun(sfn, execution.executionArn!));
    }
    const modelVersions: ModelVersionStatus[] = [];
    const groups = (await sageMaker.send(new ListModelPackageGroupsCommand({ MaxResults: 100, NameContains: target.names.resourcePrefix }))).ModelPackageGroupSummaryList ?? [];
    for (const group of groups.filter((candidate) => ofStage(candidate.ModelPackageGroupName))) {
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
    const endpointSummaries = (await sageMaker.send(new ListEndpointsCommand({ MaxResults: 100, NameContains: target.names.resourcePrefix }))).Endpoints ?? [];
    for (const summary of endpointSummaries.filter((candidate) => ofStage(candidate.EndpointName))) {
      const described = await sageMaker.send(new DescribeEndpointCommand({ EndpointName: summary.EndpointName }));
      const versions = await servedVersions(sageMaker, described.EndpointConfigName);
      const pendingConfig = described.PendingDeploymentSummary?.EndpointConfigName;
      endpoints.push({
        name: summary.EndpointName ?? '',
        status: described.EndpointStatus ?? 'Unknown',
        failureReason: described.FailureReason,
        endpointConfig: described.EndpointConfigName,
        modelVersion: joinedVersions(versions),
        variants: variantsOf(described, versions),
        ...(pendingConfig ? { pending: { endpointConfig: pendingConfig, modelVersion: joinedVersions(await servedVersions(sageMaker, pendingConfig)) } } : {}),
      });
    }
    return { runs, modelVersions, endpoints };
  } finally {
    sfn.destroy();
    sageMaker.destroy();
    s3.destroy();
  }
}

/** Accepts a model package ARN or `<group>/<version>` (in the target's account and region); throws naming the expected forms otherwise. */
export function modelPackageArn(reference: string, target: Pick<Target, 'partition' | 'region' | 'accountId'>): string {
  if (MODEL_PACKAGE_ARN.test(reference)) return reference;
  const match = /^([a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})\/(\d+)$/.exec(reference);
  if (!match) throw new Error(`model package: expected an ARN (arn:aws:sagemaker:…:model-package/<group>/<version>) or <group>/<version>, got "${reference}"`);
  return `arn:${target.partition}:sagemaker:${target.region}:${target.accountId}:model-package/${match[1]}/${match[3]}`;
}

/** Sets a version's approval status (UpdateModelPackage); SageMaker then emits its state-change event. */
export async function setApproval(target: Target, reference: string, status: ModelApprovalStatus, description?: string): Promise<string> {
  const arn = modelPackageArn(reference, target);
  const sageMaker = new SageMakerClient(target.clientConfig);
  try {
    await sageMaker.send(new UpdateModelPackageCommand({ ModelPackageArn: arn, ModelApprovalStatus: status, ApprovalDescription: description }));
    return arn;
  } finally {
    sageMaker.destroy();
  }
}

/**
 * Releases the prod gate of the deploy waiting on this version: publishes `Model Promotion
 * Approved` on the stage's bus (functions/on-promotion completes the waiting task). The same
 * event is the documented API for tools other than this CLI.
 */
export async function promote(target: Target, reference: string, approvedBy = 'sluice promote'): Promise<string> {
  const arn = modelPackageArn(reference, target);
  const client = new EventBridgeClient(target.clientConfig);
  try {
    const result = await client.send(
      new PutEventsCommand({ Entries: [{ EventBusName: target.names.eventBusName, Source: 'sluice', DetailType: 'Model Promotion Approved', Detail: JSON.stringify({ modelPackageArn: arn, approvedBy }) }] }),
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
    const variants = endpoint.variants ?? [];
    if (variants.length > 1) for (const variant of variants) lines.push(`    ${variant.name}  ${variant.modelVersion ?? '?'}  ${variant.trafficPercent}%`);
    if (endpoint.pending) lines.push(`    updating to ${endpoint.pending.modelVersion ?? endpoint.pending.endpointConfig} (${endpoint.pending.endpointConfig})`);
  }
  return lines.join('\n');
}
