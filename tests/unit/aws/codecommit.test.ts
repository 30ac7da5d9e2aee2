import {
  CodeCommitClient,
  CommitDoesNotExistException,
  CommitIdDoesNotExistException,
  FileDoesNotExistException,
  GetBlobCommand,
  GetCommitCommand,
  GetFileCommand,
  GetFolderCommand,
  InvalidCommitIdException,
  RepositoryDoesNotExistException,
} from '@aws-sdk/client-codecommit';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';

import { getBlob, getCommitTree, getFileAtCommit, listFilesAtCommit } from '../../../shared/aws/codecommit';
import { RetryableError } from '../../../shared/errors';
import { commitOutput } from '../../helpers/fixtures';

const codecommit = mockClient(CodeCommitClient);

const REPOSITORY = 'abalone';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' });
}

beforeEach(() => {
  codecommit.reset();
});

describe('getFileAtCommit', () => {
  it('returns the file content at the commit', async () => {
    const content = new TextEncoder().encode('Version: 1\n');
    codecommit.on(GetFileCommand).resolves({ fileContent: content, commitId: COMMIT, blobId: 'b1', filePath: 'mlops.yaml', fileMode: 'NORMAL', fileSize: content.byteLength });

    await expect(getFileAtCommit(REPOSITORY, COMMIT, 'mlops.yaml')).resolves.toEqual(content);
    expect(codecommit).toHaveReceivedCommandWith(GetFileCommand, { repositoryName: REPOSITORY, commitSpecifier: COMMIT, filePath: 'mlops.yaml' });
  });

  it('returns undefined when the file does not exist at the commit', async () => {
    codecommit.on(GetFileCommand).rejects(new FileDoesNotExistException({ message: 'The specified file does not exist.', $metadata: {} }));

    await expect(getFileAtCommit(REPOSITORY, COMMIT, 'mlops.yaml')).resolves.toBeUndefined();
  });

  it('throws RetryableError when CodeCommit throttles', async () => {
    codecommit.on(GetFileCommand).rejects(throttling());

    await expect(getFileAtCommit(REPOSITORY, COMMIT, 'mlops.yaml')).rejects.toThrow(RetryableError);
  });

  it('throws RetryableError on a server fault', async () => {
    codecommit.on(GetFileCommand).rejects(Object.assign(new Error('We encountered an internal error.'), { name: 'InternalFailure', $fault: 'server' }));

    await expect(getFileAtCommit(REPOSITORY, COMMIT, 'mlops.yaml')).rejects.toThrow(RetryableError);
  });

  it('passes other errors through unchanged, as terminal', async () => {
    const missingCommit = new CommitDoesNotExistException({ message: 'The specified commit does not exist.', $metadata: {} });
    codecommit.on(GetFileCommand).rejects(missingCommit);

    await expect(getFileAtCommit(REPOSITORY, COMMIT, 'mlops.yaml')).rejects.toBe(missingCommit);
  });
});

describe('listFilesAtCommit', () => {
  /** GetFolder outputs shaped as CodeCommit returns them: paths relative to the root, no leading slash. */
  function mockTree(): void {
    codecommit.on(GetFolderCommand, { folderPath: '/' }).resolves({
      commitId: COMMIT,
      folderPath: '/',
      treeId: 't0',
      files: [
        { absolutePath: 'mlops.yaml', relativePath: 'mlops.yaml', blobId: 'b-mlops', fileMode: 'NORMAL' },
        { absolutePath: 'run.sh', relativePath: 'run.sh', blobId: 'b-run', fileMode: 'EXECUTABLE' },
      ],
      subFolders: [{ absolutePath: 'src', relativePath: 'src', treeId: 't1' }],
      symbolicLinks: [{ absolutePath: 'latest', relativePath: 'latest', blobId: 'b-link', fileMode: 'SYMLINK' }],
      subModules: [{ absolutePath: 'vendor', relativePath: 'vendor', commitId: 'c-sub' }],
    });
    codecommit.on(GetFolderCommand, { folderPath: 'src' }).resolves({
      commitId: COMMIT,
      folderPath: 'src',
      files: [{ absolutePath: 'src/train.py', relativePath: 'train.py', blobId: 'b-train', fileMode: 'NORMAL' }],
      subFolders: [{ absolutePath: 'src/lib', relativePath: 'lib', treeId: 't2' }],
    });
    codecommit.on(GetFolderCommand, { folderPath: 'src/lib' }).resolves({
      commitId: COMMIT,
      folderPath: 'src/lib',
      files: [{ absolutePath: 'src/lib/features.py', relativePath: 'features.py', blobId: 'b-features' }],
    });
  }

  it('lists the files of every folder, recursively, sorted by path', async () => {
    mockTree();

    const files = await listFilesAtCommit(REPOSITORY, COMMIT);

    expect(files.map((file) => file.path)).toEqual(['mlops.yaml', 'run.sh', 'src/lib/features.py', 'src/train.py']);
  });

  it('reads every folder at the given commit', async () => {
    mockTree();

    await listFilesAtCommit(REPOSITORY, COMMIT);

    expect(codecommit).toHaveReceivedCommandTimes(GetFolderCommand, 3);
    for (const folderPath of ['/', 'src', 'src/lib']) {
      expect(codecommit).toHaveReceivedCommandWith(GetFolderCommand, { repositoryName: REPOSITORY, commitSpecifier: COMMIT, folderPath });
    }
  });

  it('keeps each file blob id and mode, defaulting the mode to NORMAL', async () => {
    mockTree();

    const files = await listFilesAtCommit(REPOSITORY, COMMIT);

    expect(files).toContainEqual({ path: 'run.sh', blobId: 'b-run', mode: 'EXECUTABLE' });
    expect(files).toContainEqual({ path: 'src/lib/features.py', blobId: 'b-features', mode: 'NORMAL' });
  });

  it('skips symbolic links and submodules', async () => {
    mockTree();

    const paths = (await listFilesAtCommit(REPOSITORY, COMMIT)).map((file) => file.path);

    expect(paths).not.toContain('latest');
    expect(paths).not.toContain('vendor');
  });

  it('strips a leading slash from absolute paths', async () => {
    codecommit.on(GetFolderCommand).resolves({ commitId: COMMIT, folderPath: '/', files: [{ absolutePath: '/mlops.yaml', blobId: 'b-mlops', fileMode: 'NORMAL' }] });

    const files = await listFilesAtCommit(REPOSITORY, COMMIT);

    expect(files).toEqual([{ path: 'mlops.yaml', blobId: 'b-mlops', mode: 'NORMAL' }]);
  });

  it('throws RetryableError when CodeCommit throttles', async () => {
    codecommit.on(GetFolderCommand).rejects(throttling());

    await expect(listFilesAtCommit(REPOSITORY, COMMIT)).rejects.toThrow(RetryableError);
  });
});

describe('getBlob', () => {
  it('returns the blob content', async () => {
    codecommit.on(GetBlobCommand, { repositoryName: REPOSITORY, blobId: 'b-train' }).resolves({ content: new TextEncoder().encode('print(1)\n') });

    await expect(getBlob(REPOSITORY, 'b-train')).resolves.toEqual(new TextEncoder().encode('print(1)\n'));
  });

  it('returns empty content for an empty blob', async () => {
    codecommit.on(GetBlobCommand).resolves({});

    await expect(getBlob(REPOSITORY, 'b-empty')).resolves.toHaveLength(0);
  });

  it('throws RetryableError when CodeCommit throttles', async () => {
    codecommit.on(GetBlobCommand).rejects(throttling());

    await expect(getBlob(REPOSITORY, 'b-train')).rejects.toThrow(RetryableError);
  });
});

describe('getCommitTree', () => {
  const TREE = '7c2e9a41d05b3f86e1a4c0d92b7f5e38a6c1d0e9';

  it('returns the commit\'s tree id', async () => {
    codecommit.on(GetCommitCommand, { repositoryName: REPOSITORY, commitId: COMMIT }).resolves(commitOutput(COMMIT, TREE));

    await expect(getCommitTree(REPOSITORY, COMMIT)).resolves.toBe(TREE);
  });

  it('asks for the commit of the repository', async () => {
    codecommit.on(GetCommitCommand).resolves(commitOutput(COMMIT, TREE));

    await getCommitTree(REPOSITORY, COMMIT);

    expect(codecommit).toHaveReceivedCommandWith(GetCommitCommand, { repositoryName: REPOSITORY, commitId: COMMIT });
  });

  it('returns undefined when the commit does not exist', async () => {
    codecommit.on(GetCommitCommand).rejects(new CommitIdDoesNotExistException({ message: `Commit ${COMMIT} does not exist.`, $metadata: {} }));

    await expect(getCommitTree(REPOSITORY, COMMIT)).resolves.toBeUndefined();
  });

  it('returns undefined for an id GetCommit does not take (a branch name or an abbreviated id, which GetFile resolves)', async () => {
    codecommit.on(GetCommitCommand).rejects(new InvalidCommitIdException({ message: 'The specified commit ID is not valid.', $metadata: {} }));

    await expect(getCommitTree(REPOSITORY, COMMIT.slice(0, 7))).resolves.toBeUndefined();
  });

  it('throws RetryableError when CodeCommit throttles', async () => {
    codecommit.on(GetCommitCommand).rejects(throttling());

    await expect(getCommitTree(REPOSITORY, COMMIT)).rejects.toThrow(RetryableError);
  });

  it('passes other errors through unchanged, as terminal', async () => {
    const missingRepository = new RepositoryDoesNotExistException({ message: `${REPOSITORY} does not exist`, $metadata: {} });
    codecommit.on(GetCommitCommand).rejects(missingRepository);

    await expect(getCommitTree(REPOSITORY, COMMIT)).rejects.toBe(missingRepository);
  });
});
