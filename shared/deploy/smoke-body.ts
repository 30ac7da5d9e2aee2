import { createHash } from 'node:crypto';

import { getObjectBytes, parseS3Uri, putObject } from '../aws/s3';
import { SmokeTestBodyChangedError } from '../errors';
import type { DeployConfig, SmokeTestPlan } from '../schemas/deploy';

/**
 * The smoke test's body lives in the artifacts bucket, not in the deploy plan: mlops.yaml allows
 * 5 MiB, Step Functions passes at most 256 KiB between states
 * (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). prepare-deploy stores
 * it; smoke-test reads it back and checks its SHA-256.
 */

/** `deploys/<model package group>/v<version>/smoke-body`: one per version, independent of the build's `builds/` layout. Pure. */
export function smokeBodyKey(modelPackageGroupName: string, version: number): string {
  return `deploys/${modelPackageGroupName}/v${version}/smoke-body`;
}

function nonEmptyLineCount(text: string): number {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '').length;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The plan's smoke test for mlops.yaml's SmokeTest: the body's reference (URI, UTF-8 size,
 * SHA-256) and the line count expected (ExpectedLines, or the body's non-empty lines). Pure.
 */
export function smokeTestPlan(test: DeployConfig['SmokeTest'], bucket: string, modelPackageGroupName: string, version: number): SmokeTestPlan {
  const bytes = Buffer.from(test.Body, 'utf8');
  return {
    ContentType: test.ContentType,
    Accept: test.Accept,
    Body: { uri: `s3://${bucket}/${smokeBodyKey(modelPackageGroupName, version)}`, bytes: bytes.byteLength, sha256: sha256(bytes) },
    ExpectedLines: test.ExpectedLines ?? nonEmptyLineCount(test.Body),
    NumericResponse: test.NumericResponse,
    MaxLatencyMs: test.MaxLatencyMs,
  };
}

/**
 * Writes the body where {@link smokeTestPlan} says it is. Idempotent: a version's body comes from
 * its build's pipeline, so a redeploy or rollback writes the same bytes again. Throws
 * RetryableError on throttling.
 */
export async function storeSmokeBody(plan: SmokeTestPlan, body: string): Promise<void> {
  const { bucket, key } = parseS3Uri(plan.Body.uri);
  await putObject(bucket, key, body, plan.ContentType);
}

/**
 * Reads the stored body and checks it is the one planned. Throws SmokeTestBodyChangedError
 * (terminal) when it is gone or its size or SHA-256 differ, RetryableError on throttling. Read-only.
 */
export async function readSmokeBody(plan: SmokeTestPlan): Promise<Uint8Array> {
  const { bucket, key } = parseS3Uri(plan.Body.uri);
  const bytes = await getObjectBytes(bucket, key);
  if (bytes === undefined) throw new SmokeTestBodyChangedError(`${plan.Body.uri} does not exist: the smoke test body planned for this deploy is gone`);
  const actual = sha256(bytes);
  if (bytes.byteLength !== plan.Body.bytes || actual !== plan.Body.sha256) {
    throw new SmokeTestBodyChangedError(`${plan.Body.uri} is ${bytes.byteLength} bytes with SHA-256 ${actual}, not the ${plan.Body.bytes} bytes with SHA-256 ${plan.Body.sha256} this deploy planned`);
  }
  return bytes;
}
