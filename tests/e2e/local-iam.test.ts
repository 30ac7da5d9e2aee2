import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateProcessingJobCommand,
  CreateTrainingJobCommand,
  DescribeProcessingJobCommand,
  type DescribeProcessingJobCommandOutput,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';

import { repositoryKey } from '../../shared/naming';
import { executionRoleArn } from '../../shared/pipeline/tenancy';
import { runtimeEvents, type RuntimeProcess, startRuntime, waitUntil } from '../helpers/runtime-process';

/**
 * Issue 10 on the local runtime: a SageMaker job holds only its execution role's credentials, and
 * S3 authorizes them against the role's policies from the packaged template. The role is the one the
 * stack creates for repository abalone (the local stage lists it by name: serverless.yml
 * params.local.repositories): read-write on abalone's own builds/<repository key>/, read-only on
 * datasets/. Its container (the AWS CLI, with the credentials and AWS_ENDPOINT_URL the runtime put in
 * its environment) may write its own prefix but not datasets/ or repository abalone-age's prefix;
 * SageMaker's own upload of a job's outputs is refused the same way, and the job fails with a ClientError.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const BUCKET = 'sluice-local-artifacts';
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/iam-probe:latest';
const ROLES = { roleArn: 'unused', repositoryRoles: { arnPrefix: 'arn:aws:iam::123456789012:role/sluice-local-job-', repositories: ['abalone'] } };
const ROLE_ARN = executionRoleArn('abalone', ROLES);
const ROLE_NAME = ROLE_ARN.split('/').at(-1)!;
const OWN = `builds/${repositoryKey('abalone')}/`;
const OTHER = `builds/${repositoryKey('abalone-age')}/`;

/** The container: three writes with the AWS CLI, each reported as `probe: <target> ok|denied`. */
const PROBE_SCRIPT = [
  'echo probe-body > /opt/ml/output/data/probe.txt',
  ...[`${OWN}probe/mine.txt`, 'datasets/abalone/planted.csv', `${OTHER}probe/theirs.txt`].map(
    (key) => `if aws s3 cp /opt/ml/output/data/probe.txt s3://${BUCKET}/${key}; then echo "probe: ${key} ok"; else echo "probe: ${key} denied"; fi`,
  ),
].join('\n');

let dataDir: string;
let runtime: RuntimeProcess;
let sageMaker: SageMakerClient;
let s3: S3Client;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-iam-'));
  const images = join(dataDir, 'images.yaml');
  writeFileSync(images, JSON.stringify({ [IMAGE]: { Command: ['sh', '-c', PROBE_SCRIPT] } }));
  runtime = await startRuntime({ dataDir: join(dataDir, 'runtime'), images });
  sageMaker = new SageMakerClient({ endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  s3 = new S3Client({ endpoint: runtime.endpoint, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true });
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'datasets/abalone/abalone.csv', Body: 'M,0.455,15\n' }));
}, 300_000);

afterAll(async () => {
  sageMaker?.destroy();
  s3?.destroy();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

async function train(name: string, outputPath: string): Promise<DescribeTrainingJobCommandOutput> {
  await sageMaker.send(
    new CreateTrainingJobCommand({
      TrainingJobName: name,
      RoleArn: ROLE_ARN,
      AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File' },
      InputDataConfig: [{ ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/datasets/abalone/` } } }],
      OutputDataConfig: { S3OutputPath: outputPath },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
      StoppingCondition: { MaxRuntimeInSeconds: 120 },
    }),
  );
  return waitUntil(runtime, 
    () => sageMaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name })),
    (job) => ['Completed', 'Failed', 'Stopped'].includes(job.TrainingJobStatus ?? ''),
  );
}

async function keys(prefix: string): Promise<string[]> {
  return ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((object) => object.Key!);
}

function probes(name: string): string[] {
  return readFileSync(join(dataDir, 'runtime', 'sagemaker', 'logs', 'TrainingJobs', `${name}.log`), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('probe: '));
}

describe('execution roles on the local runtime', () => {
  it("lets a job's container write its own repository's prefix but not datasets/ or another repository's prefix", async () => {
    const job = await train('iam-container', `s3://${BUCKET}/${OWN}models/`);

    expect(job.FailureReason).toBeUndefined();
    expect(job.TrainingJobStatus).toBe('Completed');
    expect(probes('iam-container')).toEqual([`probe: ${OWN}probe/mine.txt ok`, 'probe: datasets/abalone/planted.csv denied', `probe: ${OTHER}probe/theirs.txt denied`]);
    const log = readFileSync(join(dataDir, 'runtime', 'sagemaker', 'logs', 'TrainingJobs', 'iam-container.log'), 'utf8');
    expect(log).toContain(`An error occurred (AccessDenied) when calling the PutObject operation: User: arn:aws:sts::123456789012:assumed-role/${ROLE_NAME}/SageMaker is not authorized to perform: s3:PutObject`);
    expect(await keys(`${OWN}probe/`)).toEqual([`${OWN}probe/mine.txt`]);
    expect(await keys('datasets/')).toEqual(['datasets/abalone/abalone.csv']);
    expect(await keys(OTHER)).toEqual([]);
    // SageMaker's own transfers ran as the role too: the channel read datasets/, the model landed under abalone's own prefix.
    expect(job.ModelArtifacts?.S3ModelArtifacts).toBe(`s3://${BUCKET}/${OWN}models/iam-container/output/model.tar.gz`);
  }, 120_000);

  it("fails a job whose OutputDataConfig is another repository's prefix with a ClientError naming AccessDenied, and writes nothing there", async () => {
    const job = await train('iam-output', `s3://${BUCKET}/${OTHER}models/`);

    expect(job.TrainingJobStatus).toBe('Failed');
    expect(job.FailureReason).toBe(
      `ClientError: Failed to upload the model artifacts: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/${ROLE_NAME}/SageMaker is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::${BUCKET}/${OTHER}models/iam-output/output/model.tar.gz" because no identity-based policy allows the s3:PutObject action`,
    );
    expect(await keys(OTHER)).toEqual([]);
    const events = runtimeEvents(join(dataDir, 'runtime')).filter((event) => event['detail-type'] === 'SageMaker Training Job State Change' && (event.detail as { TrainingJobName?: string }).TrainingJobName === 'iam-output');
    expect(events.at(-1)?.detail).toEqual(expect.objectContaining({ TrainingJobStatus: 'Failed', FailureReason: job.FailureReason }));
  }, 120_000);

  it('fails a processing job whose output goes to datasets/, and writes nothing there', async () => {
    await sageMaker.send(
      new CreateProcessingJobCommand({
        ProcessingJobName: 'iam-processing',
        RoleArn: ROLE_ARN,
        AppSpecification: { ImageUri: IMAGE, ContainerEntrypoint: ['sh', '-c', 'echo x > /opt/ml/processing/output/data/x.csv'] },
        ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 } },
        ProcessingOutputConfig: { Outputs: [{ OutputName: 'data', S3Output: { S3Uri: `s3://${BUCKET}/datasets/abalone/derived/`, LocalPath: '/opt/ml/processing/output/data', S3UploadMode: 'EndOfJob' } }] },
      }),
    );
    const job: DescribeProcessingJobCommandOutput = await waitUntil(runtime, 
      () => sageMaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'iam-processing' })),
      (described) => ['Completed', 'Failed', 'Stopped'].includes(described.ProcessingJobStatus ?? ''),
    );

    expect(job.ProcessingJobStatus).toBe('Failed');
    expect(job.FailureReason).toMatch(/^ClientError: Failed to upload output data: AccessDenied: .* is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::sluice-local-artifacts\/datasets\/abalone\/derived\/x.csv"/);
    expect(await keys('datasets/')).toEqual(['datasets/abalone/abalone.csv']);
  }, 120_000);
});
