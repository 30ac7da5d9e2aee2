import { createHash } from 'node:crypto';

/**
 * Deterministic names. The same inputs always give the same name, which is what makes a
 * repeated event or a retried task find the resource it already created instead of making a
 * second one (see STYLE.md habit 9).
 */

/** Short, stable hex digest of the parts (sha256, first `length` hex chars). */
export function shortHash(parts: readonly string[], length = 8): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, length);
}

/**
 * Reduces free text (a repository or branch name) to SageMaker's resource-name alphabet:
 * letters, digits and single hyphens, starting and ending with a letter or digit
 * (`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`), at most `maxLength` characters. Never returns ''
 * (falls back to 'x').
 */
export function toSageMakerSlug(text: string, maxLength: number): string {
  const slug = text
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/g, '');
  return slug === '' ? 'x' : slug;
}

/** SageMaker's name rule for jobs, models, endpoint configs, endpoints and package groups. */
export const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/**
 * Step Functions execution name for a build of `commit` in `repository`: one commit builds once,
 * whichever branch it was pushed to. At most 80 characters of `[A-Za-z0-9-_]`.
 */
export function buildExecutionName(repository: string, commit: string): string {
  const repo = toSageMakerSlug(repository, 30);
  return `${repo}-${commit.slice(0, 40)}-${shortHash([repository, commit], 6)}`;
}

export type BuildStep = 'preprocess' | 'train' | 'evaluate';

/**
 * SageMaker job name for one step of one build execution, e.g. `abalone-train-1a2b3c4d5e6f`.
 * Derived from the execution ARN, so a retried task finds the job it already created.
 * Valid for processing and training jobs (≤ 63 chars, SageMaker's alphabet).
 */
export function jobName(repository: string, step: BuildStep, executionArn: string): string {
  const prefix = toSageMakerSlug(repository, 63 - step.length - 1 - 12 - 1);
  return `${prefix}-${step}-${shortHash([executionArn, step], 12)}`;
}

/**
 * Model package group name: the configured one, or the repository's name, made valid.
 * The stage's prefix namespaces groups so that two stages never share one.
 */
export function modelPackageGroupName(stagePrefix: string, configured: string): string {
  return toSageMakerSlug(`${stagePrefix}-${configured}`, 63);
}
