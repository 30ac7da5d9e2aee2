import { CodePipelineClient, PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';

import { classifyAwsError } from '../errors';

// Pure: a function that never calls this adapter does not bundle its client.
const client = /* @__PURE__ */ new CodePipelineClient({});

/**
 * Answers a CodePipeline job with success; with a continuation token CodePipeline invokes the
 * action again later (the run is still going). Throws RetryableError for transient AWS errors;
 * answering a job twice is rejected by CodePipeline (InvalidJobStateException) and rethrown.
 */
export async function putJobSuccess(jobId: string, continuationToken?: string): Promise<void> {
  try {
    await client.send(new PutJobSuccessResultCommand({ jobId, ...(continuationToken ? { continuationToken } : {}) }));
  } catch (error) {
    throw classifyAwsError(error, `CodePipeline PutJobSuccessResult ${jobId}`);
  }
}

/** Answers a CodePipeline job with failure (`type` as CodePipeline's FailureType, message ≤ 5000 chars). */
export async function putJobFailure(jobId: string, type: 'JobFailed' | 'ConfigurationError', message: string): Promise<void> {
  try {
    await client.send(new PutJobFailureResultCommand({ jobId, failureDetails: { type, message } }));
  } catch (error) {
    throw classifyAwsError(error, `CodePipeline PutJobFailureResult ${jobId}`);
  }
}
