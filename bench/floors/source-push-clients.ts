import { CodeCommitClient, GetBlobCommand, GetFileCommand, GetFolderCommand } from '@aws-sdk/client-codecommit';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

/**
 * Floor for `npm run bench`: the SDK clients and commands functions/on-source-push needs for the
 * event path issue #2 gives it (read mlops.yaml and the tree from CodeCommit, snapshot to S3,
 * start the state machine, park bad input in the DLQ), and nothing else.
 */
const codeCommit = new CodeCommitClient({});
const s3 = new S3Client({});
const sfn = new SFNClient({});
const sqs = new SQSClient({});

export const handler = async (input: { repositoryName: string; commitSpecifier: string; key: string }) => {
  const { repositoryName, commitSpecifier } = input;
  const file = await codeCommit.send(new GetFileCommand({ repositoryName, commitSpecifier, filePath: 'mlops.yaml' }));
  await codeCommit.send(new GetFolderCommand({ repositoryName, commitSpecifier, folderPath: '/' }));
  await codeCommit.send(new GetBlobCommand({ repositoryName, blobId: file.blobId }));
  await s3.send(new HeadObjectCommand({ Bucket: 'b', Key: input.key }));
  await s3.send(new PutObjectCommand({ Bucket: 'b', Key: input.key, Body: file.fileContent }));
  await sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn', name: input.key }));
  await sqs.send(new SendMessageCommand({ QueueUrl: 'q', MessageBody: input.key }));
};
