/**
 * The local CodeCommit: the real SDK client against its JSON API and real `git` against its smart
 * HTTP endpoint, both on 127.0.0.1, with state in a temporary directory.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import {
  CodeCommitClient,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  GetBlobCommand,
  GetBranchCommand,
  GetCommitCommand,
  GetFileCommand,
  GetFolderCommand,
  GetRepositoryCommand,
  ListBranchesCommand,
  ListRepositoriesCommand,
} from '@aws-sdk/client-codecommit';

import { createCodeCommitService, type CodeCommitService } from '../../../local/codecommit/service';
import type { LocalEventEntry } from '../../../local/context';
import { toEventBridgeEvent } from '../../../local/eventbridge/service';
import { readBody, serveAwsJson } from '../../../local/http/aws-json';
import { repositoryStateChangeSchema } from '../../../shared/schemas/events';

jest.setTimeout(60_000);

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

interface Runtime {
  service: CodeCommitService;
  client: CodeCommitClient;
  endpoint: string;
  events: LocalEventEntry[];
  close(): Promise<void>;
}

let root: string;
let dataDir: string;
let runtime: Runtime;

/** A CodeCommit emulator over `directory`, served on 127.0.0.1:0 the way the runtime routes it. */
async function startRuntime(directory: string): Promise<Runtime> {
  const events: LocalEventEntry[] = [];
  // The service needs the endpoint, which exists once the server listens.
  const holder: { service?: CodeCommitService } = {};
  const server: Server = createServer((request, response) => {
    const handle = async () => {
      const service = holder.service!;
      if (request.url?.startsWith('/v1/repos/')) {
        await service.handleGit(request, response);
        return;
      }
      await serveAwsJson(request, response, await readBody(request), service.operations);
    };
    handle().catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const service = createCodeCommitService({
    region: REGION,
    accountId: ACCOUNT,
    dataDir: directory,
    endpoint,
    publishEvent: async (entry) => {
      events.push(entry);
    },
    log: () => undefined,
  });
  holder.service = service;
  const client = new CodeCommitClient({ endpoint, region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return {
    service,
    client,
    endpoint,
    events,
    close: async () => {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs real git in `cwd` with a clean, prompt-free configuration; resolves to trimmed stdout. */
function git(cwd: string, ...args: string[]): Promise<string> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: root,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_DATE: '1484167798 -0800',
    GIT_COMMITTER_DATE: '1484167798 -0800',
  };
  const fullArgs = ['-c', 'user.name=Mary Major', '-c', 'user.email=mary_major@example.com', '-c', 'init.defaultBranch=main', ...args];
  return new Promise((resolve, reject) => {
    execFile('git', fullArgs, { cwd, env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`git ${args.join(' ')}: ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

/** The last published event, parsed the way Sluice's consumer parses it. */
function lastEvent() {
  const entry = runtime.events.at(-1);
  if (!entry) throw new Error('no event was published');
  return repositoryStateChangeSchema.parse(toEventBridgeEvent(entry, { accountId: ACCOUNT, region: REGION }));
}

interface PushedRepository {
  name: string;
  work: string;
  commitId: string;
}

/** Creates a repository, clones it, commits a small tree to main and pushes it. */
async function createPushedRepository(): Promise<PushedRepository> {
  const name = `repo-${randomUUID().slice(0, 8)}`;
  const created = await runtime.client.send(new CreateRepositoryCommand({ repositoryName: name, repositoryDescription: 'test repository' }));
  const work = join(root, `work-${name}`);
  await git(root, 'clone', '--quiet', created.repositoryMetadata!.cloneUrlHttp!, work);
  await writeFile(join(work, 'README.md'), '# Abalone\n');
  await mkdir(join(work, 'src', 'model'), { recursive: true });
  await writeFile(join(work, 'src', 'model', 'train.py'), 'print("train")\n');
  await writeFile(join(work, 'run.sh'), '#!/bin/sh\necho run\n');
  await chmod(join(work, 'run.sh'), 0o755);
  await symlink('README.md', join(work, 'docs'));
  await git(work, 'add', '.');
  await git(work, 'commit', '--quiet', '-m', 'Initial commit');
  await git(work, 'push', '--quiet', 'origin', 'main');
  return { name, work, commitId: await git(work, 'rev-parse', 'HEAD') };
}

/** Commits one more change to `file` on the current branch; returns the new commit id. */
async function commitChange(work: string, file: string, content: string): Promise<string> {
  await writeFile(join(work, file), content);
  await git(work, 'add', file);
  await git(work, 'commit', '--quiet', '-m', `Change ${file}`);
  return git(work, 'rev-parse', 'HEAD');
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-codecommit-test-'));
  dataDir = join(root, 'data');
  await mkdir(dataDir);
  runtime = await startRuntime(dataDir);
});

afterAll(async () => {
  await runtime?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('repositories', () => {
  it('creates a repository with an id, the CodeCommit ARN and a clone URL on the local endpoint', async () => {
    // Act
    const { repositoryMetadata } = await runtime.client.send(new CreateRepositoryCommand({ repositoryName: 'abalone', repositoryDescription: 'The example' }));

    // Assess
    expect(repositoryMetadata).toMatchObject({
      accountId: ACCOUNT,
      repositoryName: 'abalone',
      repositoryDescription: 'The example',
      Arn: `arn:aws:codecommit:${REGION}:${ACCOUNT}:abalone`,
      cloneUrlHttp: `${runtime.endpoint}/v1/repos/abalone`,
    });
    expect(repositoryMetadata?.repositoryId).toMatch(/^[0-9a-f-]{36}$/);
    expect(repositoryMetadata?.creationDate).toBeInstanceOf(Date);
    expect(repositoryMetadata?.defaultBranch).toBeUndefined();
  });

  it('gets and lists the created repository', async () => {
    const { repositoryMetadata: created } = await runtime.client.send(new CreateRepositoryCommand({ repositoryName: 'listed-repo' }));

    const { repositoryMetadata: got } = await runtime.client.send(new GetRepositoryCommand({ repositoryName: 'listed-repo' }));
    const { repositories } = await runtime.client.send(new ListRepositoriesCommand({}));

    expect(got?.repositoryId).toBe(created?.repositoryId);
    expect(repositories).toContainEqual({ repositoryName: 'listed-repo', repositoryId: created?.repositoryId });
    expect(runtime.service.listRepositoryNames()).toContain('listed-repo');
  });

  it('refuses a duplicate name with RepositoryNameExistsException', async () => {
    await runtime.client.send(new CreateRepositoryCommand({ repositoryName: 'duplicate' }));

    await expect(runtime.client.send(new CreateRepositoryCommand({ repositoryName: 'duplicate' }))).rejects.toMatchObject({ name: 'RepositoryNameExistsException' });
  });

  it.each(['has space', 'slash/name', 'ends.git', 'x'.repeat(101), '..'])('refuses the invalid name %j with InvalidRepositoryNameException', async (repositoryName) => {
    await expect(runtime.client.send(new CreateRepositoryCommand({ repositoryName }))).rejects.toMatchObject({ name: 'InvalidRepositoryNameException' });
  });

  it('answers RepositoryDoesNotExistException for an unknown repository', async () => {
    await expect(runtime.client.send(new GetRepositoryCommand({ repositoryName: 'no-such-repo' }))).rejects.toMatchObject({ name: 'RepositoryDoesNotExistException' });
  });

  it('deletes a repository, and answers a second delete with no repository id', async () => {
    const { repositoryMetadata } = await runtime.client.send(new CreateRepositoryCommand({ repositoryName: 'short-lived' }));

    const first = await runtime.client.send(new DeleteRepositoryCommand({ repositoryName: 'short-lived' }));
    const second = await runtime.client.send(new DeleteRepositoryCommand({ repositoryName: 'short-lived' }));

    expect(first.repositoryId).toBe(repositoryMetadata?.repositoryId);
    expect(second.repositoryId).toBeUndefined();
    await expect(runtime.client.send(new GetRepositoryCommand({ repositoryName: 'short-lived' }))).rejects.toMatchObject({ name: 'RepositoryDoesNotExistException' });
  });
});

describe('git over HTTP and repository state change events', () => {
  it('publishes referenceCreated with the pushed commit for the first push to main', async () => {
    // Prepare / Act
    const repo = await createPushedRepository();

    // Assess
    const event = lastEvent();
    const { repositoryMetadata } = await runtime.client.send(new GetRepositoryCommand({ repositoryName: repo.name }));
    expect(event.resources).toEqual([`arn:aws:codecommit:${REGION}:${ACCOUNT}:${repo.name}`]);
    expect(event.detail).toEqual({
      callerUserArn: `arn:aws:iam::${ACCOUNT}:root`,
      event: 'referenceCreated',
      repositoryName: repo.name,
      repositoryId: repositoryMetadata?.repositoryId,
      referenceType: 'branch',
      referenceName: 'main',
      referenceFullName: 'refs/heads/main',
      commitId: repo.commitId,
    });
  });

  it('makes the first pushed branch the default branch', async () => {
    const repo = await createPushedRepository();

    const { repositoryMetadata } = await runtime.client.send(new GetRepositoryCommand({ repositoryName: repo.name }));

    expect(repositoryMetadata?.defaultBranch).toBe('main');
  });

  it('serves clones of the pushed content', async () => {
    const repo = await createPushedRepository();
    const clone = join(root, `clone-${repo.name}`);

    await git(root, 'clone', '--quiet', `${runtime.endpoint}/v1/repos/${repo.name}`, clone);

    expect(await git(clone, 'rev-parse', 'HEAD')).toBe(repo.commitId);
    expect(await readFile(join(clone, 'src', 'model', 'train.py'), 'utf8')).toBe('print("train")\n');
  });

  it('publishes referenceUpdated with oldCommitId for a second push', async () => {
    const repo = await createPushedRepository();
    const next = await commitChange(repo.work, 'README.md', '# Abalone v2\n');

    await git(repo.work, 'push', '--quiet', 'origin', 'main');

    expect(lastEvent().detail).toMatchObject({ event: 'referenceUpdated', referenceName: 'main', commitId: next, oldCommitId: repo.commitId });
  });

  it('publishes referenceCreated with referenceType tag and the tagged commit for an annotated tag', async () => {
    const repo = await createPushedRepository();
    await git(repo.work, 'tag', '-a', 'v1.0', '-m', 'Release 1.0');

    await git(repo.work, 'push', '--quiet', 'origin', 'v1.0');

    expect(lastEvent().detail).toMatchObject({ event: 'referenceCreated', referenceType: 'tag', referenceName: 'v1.0', referenceFullName: 'refs/tags/v1.0', commitId: repo.commitId });
  });

  it('publishes referenceDeleted with oldCommitId and no commitId when a branch is deleted', async () => {
    const repo = await createPushedRepository();
    await git(repo.work, 'push', '--quiet', 'origin', 'main:feature');
    runtime.events.length = 0;

    await git(repo.work, 'push', '--quiet', 'origin', '--delete', 'feature');

    expect(runtime.events).toHaveLength(1);
    const { detail } = lastEvent();
    expect(detail).toMatchObject({ event: 'referenceDeleted', referenceType: 'branch', referenceName: 'feature', oldCommitId: repo.commitId });
    expect(detail.commitId).toBeUndefined();
  });

  it('publishes referenceDeleted then referenceCreated when the default branch is deleted and pushed again', async () => {
    const repo = await createPushedRepository();
    runtime.events.length = 0;

    await git(repo.work, 'push', '--quiet', 'origin', ':refs/heads/main');
    await git(repo.work, 'push', '--quiet', 'origin', `${repo.commitId}:refs/heads/main`);

    expect(runtime.events.map((entry) => [entry.Detail.event, entry.Detail.referenceName])).toEqual([
      ['referenceDeleted', 'main'],
      ['referenceCreated', 'main'],
    ]);
    expect(lastEvent().detail.commitId).toBe(repo.commitId);
  });

  it('publishes one event per ref when a push changes several', async () => {
    const repo = await createPushedRepository();
    runtime.events.length = 0;

    await git(repo.work, 'push', '--quiet', 'origin', 'main:dev', 'main:release');

    expect(runtime.events.map((entry) => entry.Detail.referenceFullName)).toEqual(['refs/heads/dev', 'refs/heads/release']);
  });

  it('accepts a chunked (no Content-Length) push larger than git’s post buffer', async () => {
    const repo = await createPushedRepository();
    const big = Buffer.alloc(512 * 1024);
    for (let i = 0; i < big.length; i += 1) big[i] = (i * 7919) % 251;
    await writeFile(join(repo.work, 'weights.bin'), big);
    await git(repo.work, 'add', 'weights.bin');
    await git(repo.work, 'commit', '--quiet', '-m', 'Add weights');

    await git(repo.work, '-c', 'http.postBuffer=4096', 'push', '--quiet', 'origin', 'main');

    expect(lastEvent().detail.commitId).toBe(await git(repo.work, 'rev-parse', 'HEAD'));
  });

  it('attributes a push with a Basic-auth user to that IAM user', async () => {
    const repo = await createPushedRepository();
    await commitChange(repo.work, 'README.md', 'by a user\n');
    // The emulator never challenges, so git would not send URL credentials; CI systems send the header.
    const authorization = `Authorization: Basic ${Buffer.from('ci-bot:secret').toString('base64')}`;

    await git(repo.work, '-c', `http.extraHeader=${authorization}`, 'push', '--quiet', 'origin', 'main');

    expect(lastEvent().detail).toMatchObject({ callerUserArn: `arn:aws:iam::${ACCOUNT}:user/ci-bot` });
  });

  it('serializes concurrent pushes so each changed ref is reported exactly once', async () => {
    const repo = await createPushedRepository();
    const other = join(root, `other-${repo.name}`);
    await git(root, 'clone', '--quiet', `${runtime.endpoint}/v1/repos/${repo.name}`, other);
    await commitChange(repo.work, 'a.txt', 'a\n');
    await commitChange(other, 'b.txt', 'b\n');
    runtime.events.length = 0;

    await Promise.all([git(repo.work, 'push', '--quiet', 'origin', 'HEAD:a'), git(other, 'push', '--quiet', 'origin', 'HEAD:b')]);

    const reported = runtime.events.map((entry) => `${String(entry.Detail.event)} ${String(entry.Detail.referenceName)}`).sort();
    expect(reported).toEqual(['referenceCreated a', 'referenceCreated b']);
  });

  it('serves a gzip-encoded upload-pack request (git compresses large fetch negotiations)', async () => {
    const repo = await createPushedRepository();
    const pkt = (line: string) => `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;
    const body = gzipSync(Buffer.from(`${pkt(`want ${repo.commitId}\n`)}0000${pkt('done\n')}`));

    const response = await fetch(`${runtime.endpoint}/v1/repos/${repo.name}/git-upload-pack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip' },
      body,
    });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-git-upload-pack-result');
    const result = Buffer.from(await response.arrayBuffer()).toString('latin1');
    expect(result.startsWith('0008NAK\n')).toBe(true);
    expect(result).toContain('PACK');
  });

  it('answers 404 for git requests to an unknown repository', async () => {
    const response = await fetch(`${runtime.endpoint}/v1/repos/no-such-repo/info/refs?service=git-upload-pack`);

    expect(response.status).toBe(404);
  });
});

describe('reading content', () => {
  let repo: PushedRepository;
  beforeAll(async () => {
    repo = await createPushedRepository();
    await git(repo.work, 'tag', 'v1');
    await git(repo.work, 'push', '--quiet', 'origin', 'v1');
  });

  it.each([
    ['a branch', () => 'main'],
    ['a full ref', () => 'refs/heads/main'],
    ['a tag', () => 'v1'],
    ['a commit id', () => repo.commitId],
  ])('GetFile reads a file at %s', async (_label, specifier) => {
    const output = await runtime.client.send(new GetFileCommand({ repositoryName: repo.name, commitSpecifier: specifier(), filePath: 'src/model/train.py' }));

    expect(Buffer.from(output.fileContent!).toString('utf8')).toBe('print("train")\n');
    expect(output).toMatchObject({ commitId: repo.commitId, filePath: 'src/model/train.py', fileMode: 'NORMAL', fileSize: 15 });
    expect(output.blobId).toBe(await git(repo.work, 'rev-parse', `${repo.commitId}:src/model/train.py`));
  });

  it('GetFile defaults to the head commit and accepts a leading slash', async () => {
    const output = await runtime.client.send(new GetFileCommand({ repositoryName: repo.name, filePath: '/README.md' }));

    expect(output.commitId).toBe(repo.commitId);
    expect(Buffer.from(output.fileContent!).toString('utf8')).toBe('# Abalone\n');
  });

  it('GetFile reports EXECUTABLE and SYMLINK modes', async () => {
    const script = await runtime.client.send(new GetFileCommand({ repositoryName: repo.name, filePath: 'run.sh' }));
    const link = await runtime.client.send(new GetFileCommand({ repositoryName: repo.name, filePath: 'docs' }));

    expect(script.fileMode).toBe('EXECUTABLE');
    expect(link.fileMode).toBe('SYMLINK');
    expect(Buffer.from(link.fileContent!).toString('utf8')).toBe('README.md');
  });

  it('GetFile answers FileDoesNotExistException for a missing file and for a folder', async () => {
    await expect(runtime.client.send(new GetFileCommand({ repositoryName: repo.name, filePath: 'nope.txt' }))).rejects.toMatchObject({ name: 'FileDoesNotExistException' });
    await expect(runtime.client.send(new GetFileCommand({ repositoryName: repo.name, filePath: 'src' }))).rejects.toMatchObject({ name: 'FileDoesNotExistException' });
  });

  it('GetFile answers CommitDoesNotExistException for an unknown commit specifier', async () => {
    await expect(runtime.client.send(new GetFileCommand({ repositoryName: repo.name, commitSpecifier: 'no-such-branch', filePath: 'README.md' }))).rejects.toMatchObject({
      name: 'CommitDoesNotExistException',
    });
  });

  it('GetFile answers RepositoryDoesNotExistException for an unknown repository', async () => {
    await expect(runtime.client.send(new GetFileCommand({ repositoryName: 'no-such-repo', filePath: 'README.md' }))).rejects.toMatchObject({ name: 'RepositoryDoesNotExistException' });
  });

  it('GetFolder lists the root: files, sub-folders and symbolic links', async () => {
    const output = await runtime.client.send(new GetFolderCommand({ repositoryName: repo.name, commitSpecifier: 'main', folderPath: '/' }));

    expect(output.commitId).toBe(repo.commitId);
    expect(output.treeId).toBe(await git(repo.work, 'rev-parse', `${repo.commitId}^{tree}`));
    expect(output.files?.map((file) => [file.relativePath, file.fileMode])).toEqual([
      ['README.md', 'NORMAL'],
      ['run.sh', 'EXECUTABLE'],
    ]);
    expect(output.subFolders).toEqual([{ absolutePath: 'src', relativePath: 'src', treeId: await git(repo.work, 'rev-parse', `${repo.commitId}:src`) }]);
    expect(output.symbolicLinks?.map((link) => link.relativePath)).toEqual(['docs']);
    expect(output.subModules).toEqual([]);
  });

  it('GetFolder lists a nested folder with absolute and relative paths', async () => {
    const output = await runtime.client.send(new GetFolderCommand({ repositoryName: repo.name, folderPath: 'src/model' }));

    expect(output.folderPath).toBe('src/model');
    expect(output.files).toEqual([
      { absolutePath: 'src/model/train.py', relativePath: 'train.py', fileMode: 'NORMAL', blobId: await git(repo.work, 'rev-parse', `${repo.commitId}:src/model/train.py`) },
    ]);
  });

  it('GetFolder answers FolderDoesNotExistException for a missing folder', async () => {
    await expect(runtime.client.send(new GetFolderCommand({ repositoryName: repo.name, folderPath: 'missing' }))).rejects.toMatchObject({ name: 'FolderDoesNotExistException' });
  });

  it('GetBlob returns the content of a blob id', async () => {
    const blobId = await git(repo.work, 'rev-parse', `${repo.commitId}:README.md`);

    const output = await runtime.client.send(new GetBlobCommand({ repositoryName: repo.name, blobId }));

    expect(Buffer.from(output.content!).toString('utf8')).toBe('# Abalone\n');
  });

  it('GetBlob answers BlobIdDoesNotExistException for an unknown blob and InvalidBlobIdException for a malformed one', async () => {
    await expect(runtime.client.send(new GetBlobCommand({ repositoryName: repo.name, blobId: '0'.repeat(40) }))).rejects.toMatchObject({ name: 'BlobIdDoesNotExistException' });
    await expect(runtime.client.send(new GetBlobCommand({ repositoryName: repo.name, blobId: 'HEAD' }))).rejects.toMatchObject({ name: 'InvalidBlobIdException' });
  });

  it('GetBranch and ListBranches return the branch head', async () => {
    const { branch } = await runtime.client.send(new GetBranchCommand({ repositoryName: repo.name, branchName: 'main' }));
    const { branches } = await runtime.client.send(new ListBranchesCommand({ repositoryName: repo.name }));

    expect(branch).toEqual({ branchName: 'main', commitId: repo.commitId });
    expect(branches).toEqual(['main']);
  });

  it('GetBranch answers BranchDoesNotExistException for an unknown branch', async () => {
    await expect(runtime.client.send(new GetBranchCommand({ repositoryName: repo.name, branchName: 'nope' }))).rejects.toMatchObject({ name: 'BranchDoesNotExistException' });
  });

  it('GetCommit returns tree, parents, message, author and committer', async () => {
    const next = await commitChange(repo.work, 'README.md', '# Abalone v2\n');
    await git(repo.work, 'push', '--quiet', 'origin', 'main');

    const { commit } = await runtime.client.send(new GetCommitCommand({ repositoryName: repo.name, commitId: next }));

    expect(commit).toEqual({
      commitId: next,
      treeId: await git(repo.work, 'rev-parse', `${next}^{tree}`),
      parents: [repo.commitId],
      message: 'Change README.md\n',
      author: { name: 'Mary Major', email: 'mary_major@example.com', date: '1484167798 -0800' },
      committer: { name: 'Mary Major', email: 'mary_major@example.com', date: '1484167798 -0800' },
      additionalData: '',
    });
  });

  it('GetCommit answers CommitIdDoesNotExistException for an unknown commit', async () => {
    await expect(runtime.client.send(new GetCommitCommand({ repositoryName: repo.name, commitId: 'f'.repeat(40) }))).rejects.toMatchObject({ name: 'CommitIdDoesNotExistException' });
  });

  it('exportCommit writes the commit’s tree, executable bits and symbolic links included', async () => {
    const target = join(root, `export-${repo.name}`);

    await runtime.service.exportCommit(repo.name, repo.commitId, target);

    expect(await readFile(join(target, 'src', 'model', 'train.py'), 'utf8')).toBe('print("train")\n');
    expect((await stat(join(target, 'run.sh'))).mode & 0o111).not.toBe(0);
    expect(await readFile(join(target, 'docs'), 'utf8')).toBe('# Abalone\n');
  });

  it('exportCommit rejects an unknown commit', async () => {
    await expect(runtime.service.exportCommit(repo.name, 'no-such-branch', join(root, 'export-missing'))).rejects.toMatchObject({ name: 'CommitDoesNotExistException' });
  });
});

describe('durability', () => {
  it('a new service instance over the same data directory sees repositories and their content', async () => {
    // Prepare
    const repo = await createPushedRepository();
    const { repositoryMetadata: before } = await runtime.client.send(new GetRepositoryCommand({ repositoryName: repo.name }));
    const restarted = await startRuntime(dataDir);

    try {
      // Act
      const { repositoryMetadata: after } = await restarted.client.send(new GetRepositoryCommand({ repositoryName: repo.name }));
      const { branch } = await restarted.client.send(new GetBranchCommand({ repositoryName: repo.name, branchName: 'main' }));

      // Assess
      expect(after).toMatchObject({ repositoryId: before?.repositoryId, Arn: before?.Arn, defaultBranch: 'main', creationDate: before?.creationDate });
      expect(branch?.commitId).toBe(repo.commitId);
      expect(restarted.service.listRepositoryNames()).toContain(repo.name);
    } finally {
      await restarted.close();
    }
  });
});
