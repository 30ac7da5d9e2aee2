import { CodeCommitClient, GetBlobCommand, GetBranchCommand, GetCommitCommand, GetFileCommand, GetFolderCommand } from '@aws-sdk/client-codecommit';

import { classifyAwsError, isAwsError } from '../errors';

/** Module-scope client: reused across invocations; endpoint and region come from the standard AWS settings. */
// Pure: a function that never calls this adapter does not bundle its client.
const client = /* @__PURE__ */ new CodeCommitClient({});

/**
 * Reads one file at a commit. Returns undefined when the file does not exist at that commit.
 * Throws RetryableError on throttling/5xx. Read-only, so idempotent.
 */
export async function getFileAtCommit(repositoryName: string, commitSpecifier: string, filePath: string): Promise<Uint8Array | undefined> {
  try {
    const output = await client.send(new GetFileCommand({ repositoryName, commitSpecifier, filePath }));
    return output.fileContent;
  } catch (error) {
    if (isAwsError(error, 'FileDoesNotExistException')) return undefined;
    throw classifyAwsError(error, `CodeCommit GetFile ${repositoryName}@${commitSpecifier}:${filePath}`);
  }
}

export interface TreeFile {
  path: string;
  blobId: string;
  mode: string;
}

/**
 * Lists every file of the commit's tree, depth first (GetFolder per folder). Symbolic links and
 * submodules are skipped: they are not part of a snapshot. Throws RetryableError on throttling.
 */
export async function listFilesAtCommit(repositoryName: string, commitSpecifier: string): Promise<TreeFile[]> {
  const files: TreeFile[] = [];
  const pending = ['/'];
  while (pending.length > 0) {
    const folderPath = pending.pop()!;
    try {
      const output = await client.send(new GetFolderCommand({ repositoryName, commitSpecifier, folderPath }));
      for (const file of output.files ?? []) {
        if (file.absolutePath && file.blobId) files.push({ path: file.absolutePath.replace(/^\//, ''), blobId: file.blobId, mode: file.fileMode ?? 'NORMAL' });
      }
      for (const folder of output.subFolders ?? []) if (folder.absolutePath) pending.push(folder.absolutePath);
    } catch (error) {
      throw classifyAwsError(error, `CodeCommit GetFolder ${repositoryName}@${commitSpecifier}:${folderPath}`);
    }
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Reads one blob's content. Throws RetryableError on throttling. */
export async function getBlob(repositoryName: string, blobId: string): Promise<Uint8Array> {
  try {
    const output = await client.send(new GetBlobCommand({ repositoryName, blobId }));
    return output.content ?? new Uint8Array();
  } catch (error) {
    throw classifyAwsError(error, `CodeCommit GetBlob ${repositoryName}:${blobId}`);
  }
}

/** The commit at the head of a branch; undefined when the branch does not exist. Throws RetryableError on throttling. Read-only. */
export async function getBranchHead(repositoryName: string, branchName: string): Promise<string | undefined> {
  try {
    const output = await client.send(new GetBranchCommand({ repositoryName, branchName }));
    return output.branch?.commitId;
  } catch (error) {
    if (isAwsError(error, 'BranchDoesNotExistException')) return undefined;
    throw classifyAwsError(error, `CodeCommit GetBranch ${repositoryName}:${branchName}`);
  }
}

/**
 * The id of a commit's tree (git's hash of its content): two commits with the same files share it.
 * Undefined when the commit does not exist, or `commitId` is not a full commit id (GetCommit takes
 * no branch name or abbreviated id, which GetFile does). Throws RetryableError on throttling. Read-only.
 */
export async function getCommitTree(repositoryName: string, commitId: string): Promise<string | undefined> {
  try {
    const output = await client.send(new GetCommitCommand({ repositoryName, commitId }));
    return output.commit?.treeId;
  } catch (error) {
    if (isAwsError(error, 'CommitIdDoesNotExistException', 'CommitDoesNotExistException', 'InvalidCommitIdException')) return undefined;
    throw classifyAwsError(error, `CodeCommit GetCommit ${repositoryName}@${commitId}`);
  }
}
