import 'aws-sdk-client-mock-jest';

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';

import { CliError } from '../../../cli/errors';
import { awsRegion, awsTarget, localEndpoint, namesFromOutputs, resolveTarget } from '../../../cli/target';

/**
 * cli/target.ts: how the CLI finds what it talks to — a deployed stack on AWS (credentials, profile,
 * region as AWS tools find them; names from the stack's Outputs) or the local runtime.
 */

const cloudFormation = mockClient(CloudFormationClient);

/** Outputs as serverless.yml's `Outputs:` give them for stage prod. */
const PROD_OUTPUTS: Output[] = [
  { OutputKey: 'StageResourcePrefix', OutputValue: 'sluice-prod--' },
  { OutputKey: 'EventBusName', OutputValue: 'sluice-prod' },
  { OutputKey: 'ArtifactsBucketName', OutputValue: 'sluice-prod-artifacts-111122223333' },
  { OutputKey: 'BuildStateMachinePrefix', OutputValue: 'sluice-prod-build-' },
  { OutputKey: 'ModelDeployStateMachineArn', OutputValue: 'arn:aws:states:eu-west-1:111122223333:stateMachine:sluice-prod-model-deploy' },
  { OutputKey: 'DeadLetterQueueUrl', OutputValue: 'https://sqs.eu-west-1.amazonaws.com/111122223333/sluice-prod-dlq' },
];
const PROD_STACK_ID = 'arn:aws:cloudformation:eu-west-1:111122223333:stack/sluice-prod/0f1e2d3c-aaaa-bbbb-cccc-000011112222';

/** Every variable that chooses a target, credentials or region; cleared before each test and restored after. */
const AWS_VARIABLES = ['AWS_ENDPOINT_URL', 'SLUICE_ENDPOINT', 'AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'];
let saved: Record<string, string | undefined>;
let home: string;

beforeEach(() => {
  cloudFormation.reset();
  saved = Object.fromEntries(AWS_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of AWS_VARIABLES) delete process.env[name];
  home = mkdtempSync(join(tmpdir(), 'sluice-cli-target-'));
  // Empty shared files: nothing from the machine's own ~/.aws leaks in.
  process.env.AWS_CONFIG_FILE = join(home, 'config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(home, 'credentials');
  writeFileSync(process.env.AWS_CONFIG_FILE, '');
  writeFileSync(process.env.AWS_SHARED_CREDENTIALS_FILE, '');
});

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(home, { recursive: true, force: true });
});

function writeProfiles(config: string, credentials = ''): void {
  writeFileSync(process.env.AWS_CONFIG_FILE!, config);
  writeFileSync(process.env.AWS_SHARED_CREDENTIALS_FILE!, credentials);
}

describe('localEndpoint (whether the target is the local runtime, and where)', () => {
  it('takes --endpoint first, then AWS_ENDPOINT_URL, then SLUICE_ENDPOINT', () => {
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:2', SLUICE_ENDPOINT: 'http://127.0.0.1:3' };

    expect(localEndpoint({ endpoint: 'http://127.0.0.1:1' }, env)).toBe('http://127.0.0.1:1');
    expect(localEndpoint({}, env)).toBe('http://127.0.0.1:2');
    expect(localEndpoint({}, { SLUICE_ENDPOINT: 'http://127.0.0.1:3' })).toBe('http://127.0.0.1:3');
  });

  it('then the runtime recorded in <data dir>/runtime.json', () => {
    const dataDir = join(home, '.sluice');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'runtime.json'), JSON.stringify({ endpoint: 'http://127.0.0.1:4799', pid: 1 }));

    expect(localEndpoint({ 'data-dir': dataDir }, {})).toBe('http://127.0.0.1:4799');
  });

  it('means AWS when --stage, --profile or --region is given without an explicit endpoint, whatever runtime is recorded', () => {
    const dataDir = join(home, '.sluice');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'runtime.json'), JSON.stringify({ endpoint: 'http://127.0.0.1:4799' }));

    expect(localEndpoint({ stage: 'prod', 'data-dir': dataDir }, { SLUICE_ENDPOINT: 'http://127.0.0.1:3' })).toBeUndefined();
    expect(localEndpoint({ profile: 'team', 'data-dir': dataDir }, {})).toBeUndefined();
    expect(localEndpoint({ region: 'eu-west-1', 'data-dir': dataDir }, {})).toBeUndefined();
  });

  it('lets an explicit endpoint win over --stage, as AWS tools do', () => {
    expect(localEndpoint({ stage: 'prod' }, { AWS_ENDPOINT_URL: 'http://127.0.0.1:2' })).toBe('http://127.0.0.1:2');
  });

  it('means AWS when nothing names a runtime', () => {
    expect(localEndpoint({ 'data-dir': join(home, 'nothing-here') }, {})).toBeUndefined();
  });
});

describe('resolveTarget against the local runtime', () => {
  it('uses local credentials, region, account and the local stage names, and never asks CloudFormation', async () => {
    const target = await resolveTarget({}, { AWS_ENDPOINT_URL: 'http://127.0.0.1:4799' });

    expect(target).toMatchObject({
      kind: 'local',
      stackName: 'sluice-local',
      region: 'us-east-1',
      accountId: '123456789012',
      endpoint: 'http://127.0.0.1:4799',
      names: { eventBusName: 'sluice-local', buildStateMachinePrefix: 'sluice-local-build-', deployStateMachineName: 'sluice-local-model-deploy', stagePrefix: 'sluice-local', resourcePrefix: 'sluice-local--' },
      clientConfig: { region: 'us-east-1', endpoint: 'http://127.0.0.1:4799', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } },
    });
    expect(cloudFormation).not.toHaveReceivedCommand(DescribeStacksCommand);
  });
});

describe('awsTarget (a deployed stage, discovered from its stack)', () => {
  beforeEach(() => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
  });

  it('reads stack sluice-<stage> and takes its names from the Outputs, region and account from the stack ARN', async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'sluice-prod' }).resolves({ Stacks: [{ StackName: 'sluice-prod', StackId: PROD_STACK_ID, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: PROD_OUTPUTS }] });

    const target = await awsTarget({ stage: 'prod', region: 'eu-west-1' }, process.env);

    expect(cloudFormation).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'sluice-prod' });
    expect(target).toMatchObject({
      kind: 'aws',
      stackName: 'sluice-prod',
      stage: 'prod',
      region: 'eu-west-1',
      accountId: '111122223333',
      partition: 'aws',
      names: {
        eventBusName: 'sluice-prod',
        artifactsBucket: 'sluice-prod-artifacts-111122223333',
        buildStateMachinePrefix: 'sluice-prod-build-',
        deployStateMachineName: 'sluice-prod-model-deploy',
        stagePrefix: 'sluice-prod',
        resourcePrefix: 'sluice-prod--',
      },
    });
    expect(target.endpoint).toBeUndefined();
    expect(target.clientConfig.endpoint).toBeUndefined();
    expect(target.clientConfig.region).toBe('eu-west-1');
  });

  it('reads stage dev when no --stage is given', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'sluice-dev', StackId: PROD_STACK_ID.replaceAll('sluice-prod', 'sluice-dev'), StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: PROD_OUTPUTS }] });

    await awsTarget({ region: 'eu-west-1' }, process.env);

    expect(cloudFormation).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'sluice-dev' });
  });

  it('names the stack and region and suggests --stage/--region when the stack does not exist', async () => {
    const missing = Object.assign(new Error('Stack with id sluice-qa does not exist'), { name: 'ValidationError' });
    cloudFormation.on(DescribeStacksCommand).rejects(missing);

    const found = awsTarget({ stage: 'qa', region: 'eu-west-1' }, process.env);

    await expect(found).rejects.toThrow(CliError);
    await expect(awsTarget({ stage: 'qa', region: 'eu-west-1' }, process.env)).rejects.toThrow(/^stack sluice-qa not found in eu-west-1: name the deployed stage with --stage <stage> \(default dev\) and its region with --region/);
  });

  it('names the outputs a stack deployed by an older Sluice lacks', async () => {
    const outputs = PROD_OUTPUTS.filter((output) => output.OutputKey !== 'StageResourcePrefix');
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'sluice-prod', StackId: PROD_STACK_ID, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: outputs }] });

    await expect(awsTarget({ stage: 'prod', region: 'eu-west-1' }, process.env)).rejects.toThrow('stack sluice-prod has no output StageResourcePrefix: deploy this version of Sluice to it');
  });

  it('uses the profile named by --profile for credentials', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    writeProfiles('[profile team]\nregion = ap-southeast-2\n', '[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n[team]\naws_access_key_id = AKIDTEAM\naws_secret_access_key = t\n');
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'sluice-prod', StackId: PROD_STACK_ID, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: PROD_OUTPUTS }] });

    const target = await awsTarget({ stage: 'prod', profile: 'team' }, process.env);
    const credentials = typeof target.clientConfig.credentials === 'function' ? await target.clientConfig.credentials() : target.clientConfig.credentials;

    expect(credentials.accessKeyId).toBe('AKIDTEAM');
  });
});

describe('awsTarget without credentials', () => {
  it('says how to configure them, or how to reach the local runtime instead (the real provider chain finds none)', async () => {
    // The client's own credential provider runs, as it would before signing DescribeStacks: nothing in env, files or IMDS (disabled).
    cloudFormation.on(DescribeStacksCommand).callsFake(async (_input, getClient) => {
      await (getClient() as CloudFormationClient).config.credentials();
      return { Stacks: [] };
    });

    const found = awsTarget({ stage: 'dev', region: 'eu-west-1' }, process.env);

    await expect(found).rejects.toMatchObject({
      code: 'NoCredentials',
      message: 'no AWS credentials found: run "aws configure" (or "aws sso login"), set AWS_PROFILE, or, for the local runtime, pass --endpoint <url> / set AWS_ENDPOINT_URL (start it with "npm start")',
    });
  });

  it('names the profile that has none', async () => {
    const error = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    cloudFormation.on(DescribeStacksCommand).rejects(error);

    await expect(awsTarget({ stage: 'dev', region: 'eu-west-1', profile: 'ghost' }, process.env)).rejects.toThrow(/^no AWS credentials found for profile ghost: run "aws configure"/);
  });
});

describe('awsRegion (which region, as AWS tools choose it)', () => {
  beforeEach(() => {
    writeProfiles('[default]\nregion = eu-central-1\n[profile team]\nregion = ap-southeast-2\n');
  });

  it('takes --region over everything', async () => {
    process.env.AWS_REGION = 'us-west-2';
    process.env.AWS_DEFAULT_REGION = 'us-east-2';

    expect(await awsRegion({ region: 'sa-east-1', profile: 'team' }, process.env)).toBe('sa-east-1');
  });

  it('then AWS_REGION, then AWS_DEFAULT_REGION, before any profile', async () => {
    process.env.AWS_REGION = 'us-west-2';
    process.env.AWS_DEFAULT_REGION = 'us-east-2';
    expect(await awsRegion({ profile: 'team' }, process.env)).toBe('us-west-2');

    delete process.env.AWS_REGION;
    expect(await awsRegion({ profile: 'team' }, process.env)).toBe('us-east-2');
  });

  it("then the --profile's region, else AWS_PROFILE's, else the default profile's", async () => {
    expect(await awsRegion({ profile: 'team' }, process.env)).toBe('ap-southeast-2');

    process.env.AWS_PROFILE = 'team';
    expect(await awsRegion({}, process.env)).toBe('ap-southeast-2');

    delete process.env.AWS_PROFILE;
    expect(await awsRegion({}, process.env)).toBe('eu-central-1');
  });

  it('says how to set one when none is found', async () => {
    writeProfiles('');

    await expect(awsRegion({}, process.env)).rejects.toThrow(/^no AWS region: pass --region, set AWS_REGION, or set one for the profile with "aws configure"/);
  });
});

describe('namesFromOutputs', () => {
  it('rejects a StageResourcePrefix that does not end the stage with --', () => {
    const outputs = PROD_OUTPUTS.map((output) => (output.OutputKey === 'StageResourcePrefix' ? { ...output, OutputValue: 'sluice-prod-' } : output));

    expect(() => namesFromOutputs('sluice-prod', outputs)).toThrow('StageResourcePrefix "sluice-prod-" does not end with "--"');
  });
});
