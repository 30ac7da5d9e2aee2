import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ServiceContext } from '../context';
import { AwsServiceError, epochSeconds, type JsonOperations } from '../http/aws-json';
import { JsonStore } from '../store/json-store';
import { GitCommandError, runGit, serveGitHttpBackend } from './git-http';

/**
 * CodeCommit, locally: the awsJson1_1 API (X-Amz-Target `CodeCommit_20150413.<Op>`) for the
 * repository, branch, commit and content reads Sluice and its users make, plus git smart HTTP at
 * CodeCommit's clone path (`/v1/repos/<name>`). Repositories are bare git repositories under
 * `<dataDir>/repos/<name>.git`; their metadata is a JSON document each, so both survive restarts.
 * Every ref a push changes is published as a `CodeCommit Repository State Change` event, as AWS does.
 */

/** The emulated CodeCommit: API operations, git over HTTP, and helpers for the runtime. */
export interface CodeCommitService {
  /** awsJson1_1 operations; the runtime routes X-Amz-Target `CodeCommit_20150413.<Op>` here via serveAwsJson. */
  operations: JsonOperations;
  /**
   * Serves git smart HTTP for a request whose URL path starts with /v1/repos/<name> (CodeCommit's
   * HTTPS clone URL path). The request body must still be unread (it is streamed to git).
   * Unknown repositories answer 404. A push's events are published before its response ends.
   */
  handleGit(request: IncomingMessage, response: ServerResponse): Promise<void>;
  /**
   * Writes the tree of `commit` (a commit id, branch or tag) in repository `name` into `directory`
   * (created if missing; existing files with the same paths are overwritten). Throws
   * RepositoryDoesNotExistException / CommitDoesNotExistException ({@link AwsServiceError}).
   */
  exportCommit(name: string, commit: string, directory: string): Promise<void>;
  /** Names of all repositories, sorted. */
  listRepositoryNames(): string[];
}

/** Metadata AWS keeps per repository (the git data lives in the bare repository itself). */
interface RepositoryRecord {
  repositoryName: string;
  repositoryId: string;
  repositoryDescription?: string;
  /** ISO-8601. */
  creationDate: string;
  /** ISO-8601. */
  lastModifiedDate: string;
  /** Unset until the first branch is pushed, as in CodeCommit. */
  defaultBranch?: string;
}

/** A ref and the commit it points at (peeled: annotated tags give their commit). */
interface RefState {
  objectId: string;
  commitId: string;
}

interface TreeEntry {
  mode: string;
  type: string;
  id: string;
  name: string;
}

const FILE_MODES: Record<string, string> = {
  '100644': 'NORMAL',
  '100664': 'NORMAL',
  '100755': 'EXECUTABLE',
  '120000': 'SYMLINK',
};
/** GetFile and GetBlob refuse larger blobs with FileTooLargeException (CodeCommit quota). */
const MAX_BLOB_BYTES = 6 * 1024 * 1024;
const REPOSITORY_NAME = /^[\w.-]{1,100}$/;
const OBJECT_ID = /^[0-9a-f]{40}$/;
const DETAIL_TYPE = 'CodeCommit Repository State Change';
const EVENT_SOURCE = 'aws.codecommit';

/** The string field `field`, or `requiredError` when it is missing or empty. */
function requireField(input: Record<string, unknown>, field: string, requiredError: string): string {
  const value = input[field];
  if (value === undefined || value === null || value === '') throw new AwsServiceError(requiredError, `${field} is required.`);
  if (typeof value !== 'string') throw new AwsServiceError('SerializationException', `${field} must be a string.`);
  return value;
}

function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new AwsServiceError('SerializationException', `${field} must be a string.`);
  return value;
}

/** Whether `name` is a repository name CodeCommit accepts (1-100 of `[\w.-]`, no `.git` suffix). */
function isValidRepositoryName(name: string): boolean {
  return REPOSITORY_NAME.test(name) && !name.toLowerCase().endsWith('.git') && name !== '.' && name !== '..';
}

function validateRepositoryName(name: string): string {
  if (!isValidRepositoryName(name)) {
    throw new AwsServiceError(
      'InvalidRepositoryNameException',
      `The repository name ${JSON.stringify(name)} is not valid. Repository names can be any valid combination of letters, numbers, periods, underscores, and dashes between 1 and 100 characters in length, and cannot end in .git.`,
    );
  }
  return name;
}

/** Path segments of a repository path; `/`, `` and `.` are the root. `..` is refused. */
function pathSegments(path: string): string[] {
  const segments = path.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..') || path.includes('\0')) throw new AwsServiceError('InvalidPathException', `The path ${JSON.stringify(path)} is not valid.`);
  return segments;
}

function parseLsTree(output: Buffer): TreeEntry[] {
  return output
    .toString('utf8')
    .split('\0')
    .filter((record) => record !== '')
    .map((record) => {
      const tab = record.indexOf('\t');
      const [mode = '', type = '', id = ''] = record.slice(0, tab).split(' ');
      return { mode, type, id, name: record.slice(tab + 1) };
    });
}

/** `Name <email> 1484167798 -0800` → UserInfo, date in git's raw form as CodeCommit returns it. */
function parseIdentity(line: string): { name: string; email: string; date: string } {
  const match = /^(.*?) ?<([^>]*)> (\d+ [+-]\d{4})$/.exec(line);
  return match ? { name: match[1] ?? '', email: match[2] ?? '', date: match[3] ?? '' } : { name: line, email: '', date: '' };
}

/** `refs/heads/x` → branch x, `refs/tags/x` → tag x; other refs raise no CodeCommit events. */
function classifyRef(fullName: string): { referenceType: 'branch' | 'tag'; referenceName: string } | undefined {
  if (fullName.startsWith('refs/heads/')) return { referenceType: 'branch', referenceName: fullName.slice('refs/heads/'.length) };
  if (fullName.startsWith('refs/tags/')) return { referenceType: 'tag', referenceName: fullName.slice('refs/tags/'.length) };
  return undefined;
}

/**
 * The user a push is attributed to: the Basic-auth user name (git's credential, e.g. a CodeCommit
 * HTTPS Git credential user) as an IAM user, or the account root when the push was anonymous.
 */
function callerOf(request: IncomingMessage, accountId: string): { user?: string; arn: string } {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && authorization.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const user = decoded.slice(0, Math.max(decoded.indexOf(':'), 0)) || decoded;
    const safe = user.replace(/[^\w+=,.@-]/g, '');
    if (safe !== '') return { user: safe, arn: `arn:aws:iam::${accountId}:user/${safe}` };
  }
  return { arn: `arn:aws:iam::${accountId}:root` };
}

/** Creates the CodeCommit emulator over `ctx.dataDir` (existing repositories are picked up). */
export function createCodeCommitService(ctx: ServiceContext): CodeCommitService {
  const reposRoot = join(ctx.dataDir, 'repos');
  // Keys are prefixed because repository names may start with a dot, which JsonStore refuses.
  const metadata = new JsonStore<RepositoryRecord>(join(ctx.dataDir, 'repositories'));
  const keyOf = (name: string) => `repo-${name}`;
  const gitDirOf = (name: string) => join(reposRoot, `${name}.git`);
  const arnOf = (name: string) => `arn:aws:codecommit:${ctx.region}:${ctx.accountId}:${name}`;
  /** Pushes and deletions of one repository run one at a time, so ref diffs are exact. */
  const locks = new Map<string, Promise<unknown>>();

  const withLock = <T>(name: string, action: () => Promise<T>): Promise<T> => {
    const previous = locks.get(name) ?? Promise.resolve();
    const next = previous.then(action, action);
    const settled = next.catch(() => undefined);
    locks.set(name, settled);
    void settled.then(() => {
      if (locks.get(name) === settled) locks.delete(name);
    });
    return next;
  };

  const metadataOf = (repositoryName: string): RepositoryRecord => {
    const record = isValidRepositoryName(repositoryName) ? metadata.get(keyOf(repositoryName)) : undefined;
    if (!record || !existsSync(gitDirOf(repositoryName))) {
      throw new AwsServiceError('RepositoryDoesNotExistException', `${repositoryName} does not exist`);
    }
    return record;
  };

  /** The repository named in the input: validated, and existing. */
  const repositoryFrom = (input: Record<string, unknown>): RepositoryRecord =>
    metadataOf(validateRepositoryName(requireField(input, 'repositoryName', 'RepositoryNameRequiredException')));

  const repositoryMetadata = (record: RepositoryRecord) => ({
    accountId: ctx.accountId,
    repositoryId: record.repositoryId,
    repositoryName: record.repositoryName,
    ...(record.repositoryDescription !== undefined ? { repositoryDescription: record.repositoryDescription } : {}),
    ...(record.defaultBranch !== undefined ? { defaultBranch: record.defaultBranch } : {}),
    lastModifiedDate: epochSeconds(new Date(record.lastModifiedDate)),
    creationDate: epochSeconds(new Date(record.creationDate)),
    cloneUrlHttp: `${ctx.endpoint}/v1/repos/${record.repositoryName}`,
    Arn: arnOf(record.repositoryName),
  });

  /** Every branch and tag with its object and peeled commit. */
  const readRefs = async (name: string): Promise<Map<string, RefState>> => {
    const output = await runGit(gitDirOf(name), ['for-each-ref', '--format=%(objectname) %(*objectname) %(refname)', 'refs/heads', 'refs/tags']);
    const refs = new Map<string, RefState>();
    for (const line of output.toString('utf8').split('\n')) {
      const match = /^([0-9a-f]{40}) ([0-9a-f]{40})? ?(.+)$/.exec(line);
      if (match) refs.set(match[3]!, { objectId: match[1]!, commitId: match[2] ?? match[1]! });
    }
    return refs;
  };

  const branchesOf = async (name: string): Promise<Map<string, string>> => {
    const branches = new Map<string, string>();
    for (const [fullName, state] of await readRefs(name)) {
      if (fullName.startsWith('refs/heads/')) branches.set(fullName.slice('refs/heads/'.length), state.commitId);
    }
    return branches;
  };

  /** The commit a commitSpecifier (commit id, branch, tag, full ref; default HEAD) names. */
  const resolveCommit = async (name: string, specifier: string | undefined): Promise<string> => {
    const spec = specifier ?? 'HEAD';
    // A leading dash would be read as an option, a colon as a path lookup; neither is a commit.
    if (spec.startsWith('-') || spec.includes(':') || /[\s\0]/.test(spec)) {
      throw new AwsServiceError('InvalidCommitException', `The specified commit ${JSON.stringify(spec)} is not valid.`);
    }
    try {
      const output = await runGit(gitDirOf(name), ['rev-parse', '--verify', '--quiet', `${spec}^{commit}`]);
      return output.toString('utf8').trim();
    } catch (error) {
      if (!(error instanceof GitCommandError)) throw error;
      throw new AwsServiceError('CommitDoesNotExistException', `The specified commit ${JSON.stringify(spec)} does not exist.`);
    }
  };

  const objectType = async (name: string, objectId: string): Promise<string | undefined> => {
    try {
      return (await runGit(gitDirOf(name), ['cat-file', '-t', objectId])).toString('utf8').trim();
    } catch (error) {
      if (error instanceof GitCommandError) return undefined;
      throw error;
    }
  };

  const readBlob = async (name: string, blobId: string): Promise<Buffer> => {
    const size = Number((await runGit(gitDirOf(name), ['cat-file', '-s', blobId])).toString('utf8').trim());
    if (size > MAX_BLOB_BYTES) throw new AwsServiceError('FileTooLargeException', `The file is ${size} bytes; the limit is ${MAX_BLOB_BYTES}.`);
    return runGit(gitDirOf(name), ['cat-file', 'blob', blobId]);
  };

  const listTree = async (name: string, treeId: string): Promise<TreeEntry[]> => parseLsTree(await runGit(gitDirOf(name), ['ls-tree', '-z', treeId]));

  /**
   * The entry at `segments` under commit `commitId`, walking tree by tree with exact name
   * comparison (ls-tree's path arguments are patterns, user paths must not be).
   */
  const findEntry = async (name: string, commitId: string, segments: string[]): Promise<TreeEntry | undefined> => {
    const rootTree = (await runGit(gitDirOf(name), ['rev-parse', `${commitId}^{tree}`])).toString('utf8').trim();
    let entry: TreeEntry = { mode: '040000', type: 'tree', id: rootTree, name: '' };
    for (const segment of segments) {
      if (entry.type !== 'tree') return undefined;
      const child = (await listTree(name, entry.id)).find((candidate) => candidate.name === segment);
      if (!child) return undefined;
      entry = child;
    }
    return entry;
  };

  /** Publishes one event per branch/tag the push changed; keeps metadata in step. */
  const recordPush = async (name: string, before: Map<string, RefState>, callerUserArn: string) => {
    const after = await readRefs(name);
    const record = metadata.get(keyOf(name));
    if (!record) return;
    const changes: { fullName: string; old?: RefState; current?: RefState }[] = [];
    for (const fullName of [...new Set([...before.keys(), ...after.keys()])].sort()) {
      const old = before.get(fullName);
      const current = after.get(fullName);
      if (old?.objectId !== current?.objectId) changes.push({ fullName, old, current });
    }
    if (changes.length === 0) return;

    const updated: RepositoryRecord = { ...record, lastModifiedDate: new Date().toISOString() };
    if (updated.defaultBranch === undefined) {
      // CodeCommit makes the first branch pushed the default; prefer main/master if several arrive at once.
      const branches = [...after.keys()].filter((ref) => ref.startsWith('refs/heads/')).map((ref) => ref.slice('refs/heads/'.length));
      const chosen = ['main', 'master'].find((branch) => branches.includes(branch)) ?? branches[0];
      if (chosen !== undefined) {
        updated.defaultBranch = chosen;
        // HEAD must name an existing branch, or clones check out nothing.
        await runGit(gitDirOf(name), ['symbolic-ref', 'HEAD', `refs/heads/${chosen}`]);
      }
    }
    metadata.put(keyOf(name), updated);
    ctx.log('codecommit: push', { repositoryName: name, changedRefs: changes.map((change) => change.fullName) });

    for (const { fullName, old, current } of changes) {
      const kind = classifyRef(fullName);
      if (!kind) continue;
      const detail: Record<string, unknown> = {
        callerUserArn,
        event: !old ? 'referenceCreated' : !current ? 'referenceDeleted' : 'referenceUpdated',
        repositoryName: name,
        repositoryId: record.repositoryId,
        referenceType: kind.referenceType,
        referenceName: kind.referenceName,
        referenceFullName: fullName,
        ...(current ? { commitId: current.commitId } : {}),
        ...(old ? { oldCommitId: old.commitId } : {}),
      };
      try {
        await ctx.publishEvent({ Source: EVENT_SOURCE, DetailType: DETAIL_TYPE, Detail: detail, Resources: [arnOf(name)] });
      } catch (error) {
        // The push itself succeeded; a failed delivery must not turn it into an error for git.
        ctx.log('codecommit: publishing a repository state change failed', { repositoryName: name, referenceFullName: fullName, error: String(error) });
      }
    }
  };

  const operations: JsonOperations = {
    CreateRepository: async (input) => {
      const name = validateRepositoryName(requireField(input, 'repositoryName', 'RepositoryNameRequiredException'));
      const description = optionalString(input, 'repositoryDescription');
      if (description !== undefined && description.length > 1000) {
        throw new AwsServiceError('InvalidRepositoryDescriptionException', 'The repository description must be at most 1000 characters.');
      }
      if (metadata.get(keyOf(name))) throw new AwsServiceError('RepositoryNameExistsException', `Repository named ${name} already exists`);
      const now = new Date().toISOString();
      const record: RepositoryRecord = {
        repositoryName: name,
        repositoryId: randomUUID(),
        ...(description !== undefined ? { repositoryDescription: description } : {}),
        creationDate: now,
        lastModifiedDate: now,
      };
      // Written before the first await, so a concurrent create of the same name sees it.
      metadata.put(keyOf(name), record);
      await withLock(name, async () => {
        try {
          await mkdir(reposRoot, { recursive: true });
          // Leftovers of an interrupted delete must not come back as the new repository's refs.
          await rm(gitDirOf(name), { recursive: true, force: true });
          await runGit(gitDirOf(name), ['init', '--bare', '--quiet', '--initial-branch=main', gitDirOf(name)]);
          // http-backend refuses anonymous pushes unless receive-pack is enabled explicitly.
          await runGit(gitDirOf(name), ['config', 'http.receivepack', 'true']);
          // git refuses to delete the branch HEAD names; CodeCommit accepts such pushes (the
          // default branch stays recorded and comes back when that branch is pushed again).
          await runGit(gitDirOf(name), ['config', 'receive.denyDeleteCurrent', 'ignore']);
        } catch (error) {
          metadata.delete(keyOf(name));
          throw error;
        }
      });
      ctx.log('codecommit: repository created', { repositoryName: name });
      return { repositoryMetadata: repositoryMetadata(record) };
    },

    GetRepository: async (input) => ({ repositoryMetadata: repositoryMetadata(repositoryFrom(input)) }),

    ListRepositories: async (input) => {
      const sortBy = optionalString(input, 'sortBy') ?? 'repositoryName';
      const order = optionalString(input, 'order') ?? 'ascending';
      if (sortBy !== 'repositoryName' && sortBy !== 'lastModifiedDate') throw new AwsServiceError('InvalidSortByException', `sortBy ${sortBy} is not valid.`);
      if (order !== 'ascending' && order !== 'descending') throw new AwsServiceError('InvalidOrderException', `order ${order} is not valid.`);
      const records = metadata.list().map(({ value }) => value);
      records.sort((a, b) => (sortBy === 'repositoryName' ? a.repositoryName.localeCompare(b.repositoryName) : a.lastModifiedDate.localeCompare(b.lastModifiedDate)));
      if (order === 'descending') records.reverse();
      return { repositories: records.map((record) => ({ repositoryName: record.repositoryName, repositoryId: record.repositoryId })) };
    },

    DeleteRepository: async (input) => {
      const name = validateRepositoryName(requireField(input, 'repositoryName', 'RepositoryNameRequiredException'));
      // CodeCommit answers a missing repository with an empty result, not an error.
      return withLock(name, async () => {
        const record = metadata.get(keyOf(name));
        if (!record) return {};
        metadata.delete(keyOf(name));
        await rm(gitDirOf(name), { recursive: true, force: true });
        ctx.log('codecommit: repository deleted', { repositoryName: name });
        return { repositoryId: record.repositoryId };
      });
    },

    ListBranches: async (input) => {
      const record = repositoryFrom(input);
      return { branches: [...(await branchesOf(record.repositoryName)).keys()] };
    },

    GetBranch: async (input) => {
      const repositoryName = requireField(input, 'repositoryName', 'RepositoryNameRequiredException');
      const branchName = requireField(input, 'branchName', 'BranchNameRequiredException');
      const record = metadataOf(validateRepositoryName(repositoryName));
      const commitId = (await branchesOf(record.repositoryName)).get(branchName);
      if (commitId === undefined) throw new AwsServiceError('BranchDoesNotExistException', `Branch ${branchName} does not exist in ${repositoryName}.`);
      return { branch: { branchName, commitId } };
    },

    GetCommit: async (input) => {
      const record = repositoryFrom(input);
      const commitId = requireField(input, 'commitId', 'CommitIdRequiredException');
      if (!OBJECT_ID.test(commitId)) throw new AwsServiceError('InvalidCommitIdException', `The commit ID ${commitId} is not valid; use the full SHA.`);
      if ((await objectType(record.repositoryName, commitId)) !== 'commit') {
        throw new AwsServiceError('CommitIdDoesNotExistException', `Commit ${commitId} does not exist.`);
      }
      const raw = (await runGit(gitDirOf(record.repositoryName), ['cat-file', 'commit', commitId])).toString('utf8');
      const split = raw.indexOf('\n\n');
      const headerLines = (split === -1 ? raw : raw.slice(0, split)).split('\n').filter((line) => !line.startsWith(' '));
      const field = (key: string) => headerLines.filter((line) => line.startsWith(`${key} `)).map((line) => line.slice(key.length + 1));
      return {
        commit: {
          commitId,
          treeId: field('tree')[0],
          parents: field('parent'),
          message: split === -1 ? '' : raw.slice(split + 2),
          author: parseIdentity(field('author')[0] ?? ''),
          committer: parseIdentity(field('committer')[0] ?? ''),
          additionalData: '',
        },
      };
    },

    GetFile: async (input) => {
      const record = repositoryFrom(input);
      const filePath = requireField(input, 'filePath', 'PathRequiredException');
      const segments = pathSegments(filePath);
      const commitId = await resolveCommit(record.repositoryName, optionalString(input, 'commitSpecifier'));
      const entry = await findEntry(record.repositoryName, commitId, segments);
      const fileMode = entry ? FILE_MODES[entry.mode] : undefined;
      if (!entry || entry.type !== 'blob' || fileMode === undefined) {
        throw new AwsServiceError('FileDoesNotExistException', `The file ${filePath} does not exist in commit ${commitId}.`);
      }
      const content = await readBlob(record.repositoryName, entry.id);
      return {
        commitId,
        blobId: entry.id,
        filePath: segments.join('/'),
        fileMode,
        fileSize: content.length,
        fileContent: content.toString('base64'),
      };
    },

    GetFolder: async (input) => {
      const record = repositoryFrom(input);
      const folderPath = requireField(input, 'folderPath', 'PathRequiredException');
      const segments = pathSegments(folderPath);
      const commitId = await resolveCommit(record.repositoryName, optionalString(input, 'commitSpecifier'));
      const folder = await findEntry(record.repositoryName, commitId, segments);
      if (!folder || folder.type !== 'tree') {
        throw new AwsServiceError('FolderDoesNotExistException', `The folder ${folderPath} does not exist in commit ${commitId}.`);
      }
      const prefix = segments.join('/');
      const absolute = (entry: TreeEntry) => (prefix === '' ? entry.name : `${prefix}/${entry.name}`);
      const entries = await listTree(record.repositoryName, folder.id);
      return {
        commitId,
        folderPath: prefix,
        treeId: folder.id,
        subFolders: entries.filter((e) => e.type === 'tree').map((e) => ({ treeId: e.id, absolutePath: absolute(e), relativePath: e.name })),
        files: entries
          .filter((e) => e.type === 'blob' && FILE_MODES[e.mode] !== 'SYMLINK')
          .map((e) => ({ blobId: e.id, absolutePath: absolute(e), relativePath: e.name, fileMode: FILE_MODES[e.mode] ?? 'NORMAL' })),
        symbolicLinks: entries
          .filter((e) => FILE_MODES[e.mode] === 'SYMLINK')
          .map((e) => ({ blobId: e.id, absolutePath: absolute(e), relativePath: e.name, fileMode: 'SYMLINK' })),
        subModules: entries.filter((e) => e.type === 'commit').map((e) => ({ commitId: e.id, absolutePath: absolute(e), relativePath: e.name })),
      };
    },

    GetBlob: async (input) => {
      const record = repositoryFrom(input);
      const blobId = requireField(input, 'blobId', 'BlobIdRequiredException');
      if (!OBJECT_ID.test(blobId)) throw new AwsServiceError('InvalidBlobIdException', `The blob ID ${blobId} is not valid.`);
      if ((await objectType(record.repositoryName, blobId)) !== 'blob') {
        throw new AwsServiceError('BlobIdDoesNotExistException', `Blob ${blobId} does not exist.`);
      }
      return { content: (await readBlob(record.repositoryName, blobId)).toString('base64') };
    },
  };

  const handleGit = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const match = /^\/v1\/repos\/([^/]+)(\/.*)?$/.exec(path);
    const name = match?.[1] ?? '';
    const rest = match?.[2] ?? '';
    if (!match || !isValidRepositoryName(name) || !metadata.get(keyOf(name)) || !existsSync(gitDirOf(name))) {
      request.resume();
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`repository ${name} not found\n`);
      return;
    }
    const caller = callerOf(request, ctx.accountId);
    const cgi = { projectRoot: reposRoot, pathInfo: `/${name}.git${rest}`, ...(caller.user ? { remoteUser: caller.user } : {}) };
    if (request.method !== 'POST' || rest !== '/git-receive-pack') {
      await serveGitHttpBackend(request, response, cgi);
      return;
    }
    await withLock(name, async () => {
      let before: Map<string, RefState>;
      try {
        before = await readRefs(name);
      } catch (error) {
        request.resume();
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(`cannot read the refs of ${name}: ${String(error)}\n`);
        return;
      }
      // Recorded before the response ends, so the events are out by the time `git push` returns.
      await serveGitHttpBackend(request, response, cgi, async () => {
        try {
          await recordPush(name, before, caller.arn);
        } catch (error) {
          ctx.log('codecommit: recording a push failed', { repositoryName: name, error: String(error) });
        }
      });
    });
  };

  const exportCommit = async (name: string, commit: string, directory: string): Promise<void> => {
    const record = metadataOf(name);
    const commitId = await resolveCommit(record.repositoryName, commit);
    await mkdir(directory, { recursive: true });
    // A throwaway index instead of `git archive | tar`: no tar needed, and export-ignore attributes
    // (which archive honours) cannot silently drop files from the build input.
    const indexDir = await mkdtemp(join(tmpdir(), 'sluice-codecommit-'));
    try {
      const options = { env: { GIT_INDEX_FILE: join(indexDir, 'index') }, cwd: directory };
      await runGit(gitDirOf(name), [`--work-tree=${directory}`, 'read-tree', commitId], options);
      await runGit(gitDirOf(name), [`--work-tree=${directory}`, 'checkout-index', '--all', '--force'], options);
    } finally {
      await rm(indexDir, { recursive: true, force: true });
    }
  };

  return {
    operations,
    handleGit,
    exportCommit,
    listRepositoryNames: () => metadata.list().map(({ value }) => value.repositoryName).sort(),
  };
}
