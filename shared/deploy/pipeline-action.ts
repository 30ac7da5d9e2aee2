import { ExecutionStatus } from '@aws-sdk/client-sfn';

import { SluiceError } from '../errors';
import { modelPackageArnSchema } from '../schemas/deploy';
import * as z from '../schemas/zod';
import type { CodePipelineJob, RepositoryStateChange } from '../schemas/events';

/**
 * The CodePipeline Lambda invoke action: one pipeline stage can build a commit, deploy an Approved
 * version or promote it to prod, and waits for the Sluice run it started through CodePipeline's
 * continuation tokens (each later invocation checks the run and answers again). The pipeline is
 * always answered, exactly once per invocation; nothing is thrown after the answer.
 */

const commitId = z.string().check(z.regex(/^[0-9A-Za-z]{1,64}$/, 'must be a commit id'));
const modelPackageArn = modelPackageArnSchema;

/** UserParameters of the action (JSON). */
export const pipelineParametersSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('build'), repository: z.string().check(z.minLength(1), z.maxLength(100)), commit: commitId, branch: z._default(z.string().check(z.minLength(1), z.maxLength(256)), 'main') }),
  z.strictObject({ action: z.literal('deploy'), modelPackageArn }),
  z.strictObject({ action: z.literal('promote'), modelPackageArn }),
]);

export type PipelineParameters = z.infer<typeof pipelineParametersSchema>;

/** Why UserParameters are unusable, or the parameters. Pure. */
export function parsePipelineParameters(text: string | undefined): { ok: true; parameters: PipelineParameters } | { ok: false; problem: string } {
  if (text === undefined || text.trim() === '') return { ok: false, problem: 'UserParameters is empty; expected JSON such as {"action":"deploy","modelPackageArn":"arn:…"}' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'UserParameters is not valid JSON' };
  }
  const parsed = pipelineParametersSchema.safeParse(json);
  if (parsed.success) return { ok: true, parameters: parsed.data };
  return { ok: false, problem: `UserParameters: ${parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ')}` };
}

/** A synthetic CodeCommit push for the build action, so it starts the same execution a push of that commit would. Pure. */
export function pushForBuild(parameters: Extract<PipelineParameters, { action: 'build' }>, job: CodePipelineJob, region: string, now = new Date()): RepositoryStateChange {
  const id = job['CodePipeline.job'].id;
  return {
    version: '0',
    id,
    'detail-type': 'CodeCommit Repository State Change',
    source: 'aws.codecommit',
    account: job['CodePipeline.job'].accountId,
    time: now.toISOString(),
    region,
    resources: [],
    detail: { event: 'referenceUpdated', repositoryName: parameters.repository, referenceType: 'branch', referenceName: parameters.branch, commitId: parameters.commit },
  };
}

/** What the action needs from AWS; the handler wires the adapters, tests pass fakes. */
export interface PipelinePorts {
  /** Starts (or finds) the run; returns its execution ARN, or why nothing was started. */
  startBuild(parameters: Extract<PipelineParameters, { action: 'build' }>): Promise<{ executionArn: string } | { ignored: string }>;
  startDeploy(modelPackageArn: string, jobId: string): Promise<{ executionArn: string }>;
  /** Publishes Model Promotion Approved. */
  promote(modelPackageArn: string, jobId: string): Promise<void>;
  describeExecution(executionArn: string): Promise<{ status?: string; error?: string; cause?: string } | undefined>;
  putJobSuccess(jobId: string, continuationToken?: string): Promise<void>;
  putJobFailure(jobId: string, type: 'JobFailed' | 'ConfigurationError', message: string): Promise<void>;
}

export type PipelineOutcome =
  | { answer: 'succeeded'; executionArn?: string }
  | { answer: 'in-progress'; executionArn: string }
  | { answer: 'failed'; type: 'JobFailed' | 'ConfigurationError'; message: string };

/** CodePipeline's limit on a failure message. */
const MAX_MESSAGE = 5000;

/** Decides the answer; throws only before anything was answered (RetryableError from a start or describe). */
async function decide(job: CodePipelineJob, ports: PipelinePorts): Promise<PipelineOutcome> {
  const { id, data } = job['CodePipeline.job'];
  const continuation = data.continuationToken;
  if (continuation) {
    const execution = await ports.describeExecution(continuation);
    if (!execution) return { answer: 'failed', type: 'JobFailed', message: `execution ${continuation} does not exist` };
    if (execution.status === ExecutionStatus.RUNNING || execution.status === ExecutionStatus.PENDING_REDRIVE) return { answer: 'in-progress', executionArn: continuation };
    if (execution.status === ExecutionStatus.SUCCEEDED) return { answer: 'succeeded', executionArn: continuation };
    return { answer: 'failed', type: 'JobFailed', message: `${execution.status ?? 'ended'}: ${execution.error ?? 'no error'}: ${execution.cause ?? ''}`.trim() };
  }
  const parsed = parsePipelineParameters(data.actionConfiguration.configuration.UserParameters);
  if (!parsed.ok) return { answer: 'failed', type: 'ConfigurationError', message: parsed.problem };
  const { parameters } = parsed;
  try {
    if (parameters.action === 'promote') {
      await ports.promote(parameters.modelPackageArn, id);
      return { answer: 'succeeded' };
    }
    const started = parameters.action === 'build' ? await ports.startBuild(parameters) : await ports.startDeploy(parameters.modelPackageArn, id);
    if ('ignored' in started) return { answer: 'failed', type: 'JobFailed', message: `nothing to build: ${started.ignored}` };
    return { answer: 'in-progress', executionArn: started.executionArn };
  } catch (error) {
    // A terminal failure to start is the pipeline's to see; a transient one is retried by Lambda.
    if (error instanceof SluiceError && !error.retryable) return { answer: 'failed', type: 'JobFailed', message: `${error.name}: ${error.message}` };
    throw error;
  }
}

/**
 * Handles one invocation of the action. First call: validates UserParameters (ConfigurationError
 * naming the problem), starts the run (or publishes the promotion) and answers success with the
 * execution ARN as continuation token. Later calls: RUNNING → success with the same token;
 * SUCCEEDED → success; FAILED/ABORTED/TIMED_OUT → JobFailed "status: error: cause". Throws
 * RetryableError only before answering.
 */
export async function runPipelineAction(job: CodePipelineJob, ports: PipelinePorts): Promise<PipelineOutcome> {
  const jobId = job['CodePipeline.job'].id;
  const outcome = await decide(job, ports);
  if (outcome.answer === 'failed') await ports.putJobFailure(jobId, outcome.type, outcome.message.slice(0, MAX_MESSAGE));
  else if (outcome.answer === 'in-progress') await ports.putJobSuccess(jobId, outcome.executionArn);
  else await ports.putJobSuccess(jobId);
  return outcome;
}
