import type * as z from './zod';

/**
 * How zod's issues read in mlops.yaml errors: `<field path>: <problem>`, a field the stage owns
 * called out as such, and for a value matching no alternative of a union, what is wrong with it
 * for the alternative that got furthest. Pure.
 */

/** Fields a SageMaker user might try to set that only the stage may choose. */
const STAGE_OWNED = new Set(['RoleArn', 'VpcConfig', 'NetworkConfig', 'KmsKeyId', 'VolumeKmsKeyId', 'OutputDataConfig', 'ProcessingOutputConfig', 'S3OutputPath', 'Bucket']);

/** Renders a zod issue path as `Train.ResourceConfig.InstanceType` / `Preprocess.Inputs.raw`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') || '(root)';
}

/** How far a union's branch got with the value: deeper paths, and checks rather than type mismatches, mean closer. */
function closeness(issues: readonly z.core.$ZodIssue[], input: unknown): number {
  const depth = Math.max(0, ...issues.map((issue) => issue.path.length));
  const kind = Array.isArray(input) ? 'array' : input === null ? 'null' : typeof input;
  const typeMatches = issues.every((issue) => {
    if (issue.code !== 'invalid_type') return true;
    const expected = String(issue.expected);
    return expected === kind || (kind === 'number' && (expected === 'int' || expected === 'number'));
  });
  return depth * 10 + (typeMatches ? 5 : 0) - issues.length / 100;
}

/**
 * Renders zod issues the way mlops.yaml errors are reported, each path prefixed by `prefix`. For a
 * value that matches no alternative of a union (a literal or an expression, a condition form), the
 * alternative that got furthest with it speaks, so the message says what is wrong with it.
 */
export function issueDetails(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const ranked = [...issue.errors].sort((a, b) => closeness(b, issue.input) - closeness(a, issue.input));
      const best = ranked[0]!;
      if (ranked.length === 1 || closeness(best, issue.input) > closeness(ranked[1]!, issue.input)) return issueDetails(best, path);
    }
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${formatPath([...path, key])}: ${STAGE_OWNED.has(key) ? 'not allowed here: the stage decides roles, VPCs, KMS keys and buckets' : 'unknown field'}`);
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) return [`${formatPath(path)}: is required`];
    return [`${formatPath(path)}: ${issue.message}`];
  });
}

