import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Runs the real AWS CLI (v1, on PATH) against the local runtime, as a user would: the endpoint and
 * the runtime's fixed credentials from the environment, no config or profile of the machine's.
 * Resolves with stdout; rejects when the CLI exits non-zero (the error carries its stderr).
 */
export async function awsCli(endpoint: string, args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('AWS_')) delete env[name];
  Object.assign(env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  });
  const { stdout } = await run('aws', args, { env, timeout: 60_000 });
  return stdout;
}

/** The same with `--output json`, its output parsed ({} when the command prints nothing), e.g. `awsCliJson(endpoint, 'logs', 'describe-log-groups')`. */
export async function awsCliJson<T>(endpoint: string, ...args: string[]): Promise<T> {
  const stdout = await awsCli(endpoint, [...args, '--output', 'json']);
  return (stdout.trim() ? JSON.parse(stdout) : {}) as T;
}
