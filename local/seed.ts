import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

import { CodeCommitClient, CreateRepositoryCommand, RepositoryNameExistsException } from '@aws-sdk/client-codecommit';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parse as parseYaml } from 'yaml';

import { LOCAL_REGION } from './context';
import { LOCAL_CREDENTIALS, ROOT } from './context';

/**
 * What a user does by hand, done for them: create a CodeCommit repository on the runtime, put a
 * dataset where mlops.yaml's `Dataset:` inputs read it, and push a directory with real git. Used by
 * `sluice up --seed`, `npm run demo` and the end-to-end tests. Everything goes through the
 * runtime's public endpoint (AWS APIs and git smart HTTP), never through its internals.
 */

const execFileAsync = promisify(execFile);

/** An example model repository: examples/<name>, its data in examples/<name>/data. */
export function exampleDir(name: string): string {
  return join(ROOT, 'examples', name);
}

export const EXAMPLE_DIR = exampleDir('abalone');
/** The examples `sluice up --seed` creates, each a repository of its own name. */
export const EXAMPLES = ['abalone', 'abalone-age', 'abalone-segments'] as const;
/** The local stage's artifacts bucket, read from its one definition: serverless.yml params.local.artifactsBucket. */
export const LOCAL_ARTIFACTS_BUCKET = (() => {
  const service = parseYaml(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as { params?: { local?: { artifactsBucket?: unknown } } };
  const bucket = service.params?.local?.artifactsBucket;
  if (typeof bucket !== 'string' || bucket === '') throw new Error('serverless.yml: params.local.artifactsBucket must name the local stage bucket');
  return bucket;
})();

/** The repository's clone URL on the runtime (CodeCommit's HTTPS clone URL path). */
export function cloneUrl(endpoint: string, repository: string): string {
  return `${endpoint}/v1/repos/${repository}`;
}

/** Creates the repository; true when it was created, false when it already existed. */
export async function createRepository(endpoint: string, repository: string): Promise<boolean> {
  const client = new CodeCommitClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    await client.send(new CreateRepositoryCommand({ repositoryName: repository, repositoryDescription: 'Sluice model repository' }));
    return true;
  } catch (error) {
    if (error instanceof RepositoryNameExistsException) return false;
    throw error;
  } finally {
    client.destroy();
  }
}

/** Uploads a file to s3://<bucket>/datasets/<dataset>/<name> (what `Dataset: <dataset>/` reads). */
export async function uploadDataset(endpoint: string, dataset: string, file: string, bucket = LOCAL_ARTIFACTS_BUCKET): Promise<string> {
  const client = new S3Client({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  const key = `datasets/${dataset}/${file.slice(file.lastIndexOf('/') + 1)}`;
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(file) }));
    return `s3://${bucket}/${key}`;
  } finally {
    client.destroy();
  }
}

/** Runs git with a fixed identity and no user/system config, so results do not depend on the machine. */
export async function git(cwd: string, args: string[]): Promise<string> {
  const env = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Sluice',
    GIT_AUTHOR_EMAIL: 'sluice@example.com',
    GIT_COMMITTER_NAME: 'Sluice',
    GIT_COMMITTER_EMAIL: 'sluice@example.com',
    GIT_TERMINAL_PROMPT: '0',
  };
  const { stdout } = await execFileAsync('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/**
 * Commits the contents of `sourceDir` (plus `changes`: path → new content) on top of the branch and
 * pushes it with real git. Returns the pushed commit id.
 */
export async function pushDirectory(
  endpoint: string,
  repository: string,
  sourceDir: string,
  options: { branch?: string; message?: string; changes?: Record<string, string> } = {},
): Promise<string> {
  const branch = options.branch ?? 'main';
  const work = mkdtempSync(join(tmpdir(), 'sluice-push-'));
  try {
    await git(work, ['init', '-q', '-b', branch]);
    await git(work, ['remote', 'add', 'origin', cloneUrl(endpoint, repository)]);
    const remoteHeads = await git(work, ['ls-remote', '--heads', 'origin', branch]);
    if (remoteHeads !== '') {
      await git(work, ['fetch', '-q', 'origin', branch]);
      await git(work, ['reset', '-q', '--hard', `origin/${branch}`]);
      await git(work, ['rm', '-rq', '--ignore-unmatch', '.']);
    }
    cpSync(sourceDir, work, { recursive: true, filter: (path) => !path.includes(`${sourceDir}/node_modules`) });
    for (const [path, content] of Object.entries(options.changes ?? {})) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), content);
    }
    await git(work, ['add', '-A']);
    await git(work, ['commit', '-q', '--allow-empty', '-m', options.message ?? `Update ${repository}`]);
    await git(work, ['push', '-q', 'origin', `HEAD:refs/heads/${branch}`]);
    return await git(work, ['rev-parse', 'HEAD']);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Uploads an example's data files (examples/<name>/data/*, its README aside) to datasets/<name>/, where `Dataset: <name>/` reads them. */
export async function uploadExampleData(endpoint: string, example: string): Promise<string[]> {
  const data = join(exampleDir(example), 'data');
  const files = readdirSync(data).filter((file) => file !== 'README.md').sort();
  return Promise.all(files.map((file) => uploadDataset(endpoint, example, join(data, file))));
}

/**
 * An example model repository, ready to use, the way any example runs: uploads its data to
 * datasets/<example>/, creates the repository `<example>` and, when it is new, pushes
 * examples/<example> (which starts its first build). Idempotent.
 */
export async function seedExample(endpoint: string, example = 'abalone'): Promise<{ created: boolean; commit?: string; cloneUrl: string }> {
  await uploadExampleData(endpoint, example);
  const created = await createRepository(endpoint, example);
  const commit = created ? await pushDirectory(endpoint, example, exampleDir(example), { message: `Model from examples/${example}` }) : undefined;
  return { created, commit, cloneUrl: cloneUrl(endpoint, example) };
}
