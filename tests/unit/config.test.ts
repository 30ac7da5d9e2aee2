import { ConfigurationError, hasCustomEndpoint, loadBuildSettings, loadConfig, loadExecutionRoles, loadIsolation, matchesAny } from '../../shared/config';

const ORIGINAL_ENV = process.env;

/** A complete, valid environment for the variables these tests load. */
const VALID_ENV = {
  ARTIFACTS_BUCKET: 'sluice-test-artifacts',
  REJECTED_BUILD_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:sluice-test-build-rejected',
  ALLOWED_INSTANCE_TYPES: 'ml.m5.xlarge, ml.m5.large,,',
  MAX_RUNTIME_SECONDS: '7200',
  TRIGGER_REPOSITORIES: 'abalone,churn-*',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dlq',
};

describe('loadConfig', () => {
  beforeEach(() => {
    process.env = { ...ORIGINAL_ENV, ...VALID_ENV };
  });

  afterEach(() => {
    process.env = ORIGINAL_ENV;
  });

  it('returns the requested variables, parsed', () => {
    const config = loadConfig('ARTIFACTS_BUCKET', 'MAX_RUNTIME_SECONDS', 'DEAD_LETTER_QUEUE_URL');

    expect(config).toEqual({
      ARTIFACTS_BUCKET: 'sluice-test-artifacts',
      MAX_RUNTIME_SECONDS: 7200,
      DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-dlq',
    });
  });

  it('splits comma lists, trimming blanks and dropping empty items', () => {
    const config = loadConfig('ALLOWED_INSTANCE_TYPES', 'TRIGGER_REPOSITORIES');

    expect(config.ALLOWED_INSTANCE_TYPES).toEqual(['ml.m5.xlarge', 'ml.m5.large']);
    expect(config.TRIGGER_REPOSITORIES).toEqual(['abalone', 'churn-*']);
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig('ARTIFACTS_BUCKET'))).toBe(true);
  });

  it('names a missing variable and says it is not set', () => {
    delete process.env.MAX_SOURCE_BYTES;

    expect(() => loadConfig('ARTIFACTS_BUCKET', 'MAX_SOURCE_BYTES')).toThrow(/MAX_SOURCE_BYTES: .*\(not set\)/);
  });

  it('throws ConfigurationError', () => {
    delete process.env.MAX_SOURCE_BYTES;

    expect(() => loadConfig('MAX_SOURCE_BYTES')).toThrow(ConfigurationError);
  });

  it('names every malformed variable in one message', () => {
    process.env.ARTIFACTS_BUCKET = 'Not_A_Bucket';
    process.env.MAX_RUNTIME_SECONDS = 'two hours';
    process.env.DEAD_LETTER_QUEUE_URL = 'sluice-test-dlq';

    expect(() => loadConfig('ARTIFACTS_BUCKET', 'MAX_RUNTIME_SECONDS', 'DEAD_LETTER_QUEUE_URL')).toThrow(
      /ARTIFACTS_BUCKET: must be an S3 bucket name;.*MAX_RUNTIME_SECONDS: .*;.*DEAD_LETTER_QUEUE_URL: /,
    );
  });

  it('does not say "not set" for a variable that is set but malformed', () => {
    process.env.MAX_RUNTIME_SECONDS = '-5';

    expect(() => loadConfig('MAX_RUNTIME_SECONDS')).toThrow(/^(?!.*not set).*MAX_RUNTIME_SECONDS/);
  });

  it('rejects a non-integer number', () => {
    process.env.MAX_RUNTIME_SECONDS = '1.5';

    expect(() => loadConfig('MAX_RUNTIME_SECONDS')).toThrow(/MAX_RUNTIME_SECONDS/);
  });

  it('rejects an empty number rather than reading it as zero', () => {
    process.env.MAX_RUNTIME_SECONDS = '';

    expect(() => loadConfig('MAX_RUNTIME_SECONDS')).toThrow(/MAX_RUNTIME_SECONDS/);
  });

  it('rejects a comma list with no items, naming the variable', () => {
    process.env.TRIGGER_BRANCHES = ' , ,';

    expect(() => loadConfig('TRIGGER_BRANCHES')).toThrow('TRIGGER_BRANCHES: must list at least one value');
  });

  it('rejects a state machine ARN that is not an ARN', () => {
    process.env.REJECTED_BUILD_STATE_MACHINE_ARN = 'sluice-test-build-rejected';

    expect(() => loadConfig('REJECTED_BUILD_STATE_MACHINE_ARN')).toThrow(/REJECTED_BUILD_STATE_MACHINE_ARN/);
  });

  it('rejects a pipeline role that is not an IAM role ARN', () => {
    process.env.PIPELINE_ROLE_ARN = 'arn:aws:iam::123456789012:user/someone';

    expect(() => loadConfig('PIPELINE_ROLE_ARN')).toThrow('PIPELINE_ROLE_ARN: must be an IAM role ARN');
  });

  it('rejects a state machine name prefix longer than 40 characters', () => {
    process.env.BUILD_STATE_MACHINE_PREFIX = `${'p'.repeat(41)}`;

    expect(() => loadConfig('BUILD_STATE_MACHINE_PREFIX')).toThrow(/BUILD_STATE_MACHINE_PREFIX: must be a short state machine name prefix/);
  });

  it('defaults RECONCILE_MIN_AGE_SECONDS to 120 when unset', () => {
    delete process.env.RECONCILE_MIN_AGE_SECONDS;

    expect(loadConfig('RECONCILE_MIN_AGE_SECONDS').RECONCILE_MIN_AGE_SECONDS).toBe(120);
  });

  it('reads the deploy settings, with BAKE_SECONDS 300 and KEEP_VERSIONS 3 by default', () => {
    Object.assign(process.env, { PROD_GATE: 'manual', PROD_GATE_TIMEOUT_SECONDS: '86400', MODEL_LATENCY_THRESHOLD_MS: '500', ALLOWED_ENDPOINT_INSTANCE_TYPES: 'ml.m5.large, ml.t2.medium' });
    delete process.env.BAKE_SECONDS;
    delete process.env.KEEP_VERSIONS;

    expect(loadConfig('PROD_GATE', 'PROD_GATE_TIMEOUT_SECONDS', 'MODEL_LATENCY_THRESHOLD_MS', 'ALLOWED_ENDPOINT_INSTANCE_TYPES', 'BAKE_SECONDS', 'KEEP_VERSIONS')).toEqual({
      PROD_GATE: 'manual',
      PROD_GATE_TIMEOUT_SECONDS: 86_400,
      MODEL_LATENCY_THRESHOLD_MS: 500,
      ALLOWED_ENDPOINT_INSTANCE_TYPES: ['ml.m5.large', 'ml.t2.medium'],
      BAKE_SECONDS: 300,
      KEEP_VERSIONS: 3,
    });
  });

  it('rejects a PROD_GATE other than manual or auto', () => {
    process.env.PROD_GATE = 'sometimes';

    expect(() => loadConfig('PROD_GATE')).toThrow(/PROD_GATE/);
  });

  it('accepts a BAKE_SECONDS of 0 but not above UpdateEndpoint\'s 3600', () => {
    process.env.BAKE_SECONDS = '0';
    expect(loadConfig('BAKE_SECONDS').BAKE_SECONDS).toBe(0);

    process.env.BAKE_SECONDS = '7200';
    expect(() => loadConfig('BAKE_SECONDS')).toThrow(/BAKE_SECONDS/);
  });

  it('ignores variables it was not asked for, even malformed ones', () => {
    process.env.MAX_SOURCE_BYTES = 'lots';

    expect(loadConfig('ARTIFACTS_BUCKET').ARTIFACTS_BUCKET).toBe('sluice-test-artifacts');
  });
});

describe('loadBuildSettings', () => {
  const BUILD_ENV = {
    ...VALID_ENV,
    TRIGGER_BRANCHES: 'main,release/*',
    BUILD_STATE_MACHINE_PREFIX: 'sluice-test-build-',
    PIPELINE_ROLE_ARN: 'arn:aws:iam::123456789012:role/sluice-test-pipeline',
    SNAPSHOT_SOURCE_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-snapshot-source',
    START_JOB_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-start-job',
    EVALUATE_STEP_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-evaluate-step',
    REGISTER_MODEL_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-test-register-model',
    EVENT_BUS_NAME: 'sluice-test',
    BUILD_RUNS_LOG_GROUP_ARN: 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/sluice-test-builds:*',
    MAX_INSTANCE_COUNT: '4',
    MAX_VOLUME_SIZE_GB: '512',
    SELF_APPROVAL_REPOSITORIES: 'sandbox-*',
    ALLOWED_ENDPOINT_INSTANCE_TYPES: 'ml.m5.large',
    MAX_ENDPOINT_INSTANCE_COUNT: '2',
    AWS_ACCOUNT_ID: '123456789012',
    IMAGE_ACCOUNT_IDS: '111122223333',
    AWS_IMAGE_ACCOUNT_IDS: '763104351884,683313688378',
  };

  beforeEach(() => {
    process.env = { ...ORIGINAL_ENV, ...BUILD_ENV };
    // The snapshot's limit is snapshot-source's own variable, not a build setting.
    delete process.env.MAX_SOURCE_BYTES;
  });

  afterEach(() => {
    process.env = ORIGINAL_ENV;
  });

  it('reads the stage\'s build settings: policy, filters, state machines, role and the functions a pipeline calls', () => {
    expect(loadBuildSettings()).toEqual({
      artifactsBucket: 'sluice-test-artifacts',
      allowedInstanceTypes: ['ml.m5.xlarge', 'ml.m5.large'],
      maxRuntimeSeconds: 7200,
      maxInstanceCount: 4,
      maxVolumeSizeInGB: 512,
      selfApprovalRepositories: ['sandbox-*'],
      allowedEndpointInstanceTypes: ['ml.m5.large'],
      maxEndpointInstanceCount: 2,
      images: { accountId: '123456789012', imageAccountIds: ['111122223333'], awsImageAccountIds: ['763104351884', '683313688378'], localImages: false },
      repositories: ['abalone', 'churn-*'],
      branches: ['main', 'release/*'],
      stateMachinePrefix: 'sluice-test-build-',
      rejectedStateMachineArn: BUILD_ENV.REJECTED_BUILD_STATE_MACHINE_ARN,
      pipelineRoleArn: BUILD_ENV.PIPELINE_ROLE_ARN,
      runLogGroupArn: BUILD_ENV.BUILD_RUNS_LOG_GROUP_ARN,
      targets: {
        snapshotSourceFunctionArn: BUILD_ENV.SNAPSHOT_SOURCE_FUNCTION_ARN,
        startJobFunctionArn: BUILD_ENV.START_JOB_FUNCTION_ARN,
        evaluateStepFunctionArn: BUILD_ENV.EVALUATE_STEP_FUNCTION_ARN,
        registerModelFunctionArn: BUILD_ENV.REGISTER_MODEL_FUNCTION_ARN,
        eventBusName: 'sluice-test',
      },
    });
  });

  it('builds every repository and branch when asked to ignore the stage\'s filters (the CodePipeline action)', () => {
    expect(loadBuildSettings(true)).toMatchObject({ repositories: ['*'], branches: ['*'] });
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadBuildSettings())).toBe(true);
  });

  it('names AWS_ACCOUNT_ID when it is missing: images are checked against the stack\'s account', () => {
    delete process.env.AWS_ACCOUNT_ID;

    expect(() => loadBuildSettings()).toThrow(/AWS_ACCOUNT_ID: .*\(not set\)/);
  });

  it('rejects an IMAGE_ACCOUNT_IDS entry that is not a 12-digit account id', () => {
    process.env.IMAGE_ACCOUNT_IDS = '123456789012,ecr-account';

    expect(() => loadBuildSettings()).toThrow(/IMAGE_ACCOUNT_IDS: must list 12-digit account ids/);
  });

  it('reads LOCAL_IMAGES=true (the local stage) as running Local.Images', () => {
    process.env.LOCAL_IMAGES = 'true';

    expect(loadBuildSettings().images?.localImages).toBe(true);
  });

  it('reads an unset or empty SELF_APPROVAL_REPOSITORIES as no repository approving its own versions', () => {
    delete process.env.SELF_APPROVAL_REPOSITORIES;
    expect(loadBuildSettings().selfApprovalRepositories).toEqual([]);
    process.env.SELF_APPROVAL_REPOSITORIES = '';
    expect(loadBuildSettings().selfApprovalRepositories).toEqual([]);
  });

  // https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html: the destination is the log group's ARN ending in :*.
  it('rejects a BUILD_RUNS_LOG_GROUP_ARN without the :* Step Functions wants (cw-logs.html)', () => {
    process.env.BUILD_RUNS_LOG_GROUP_ARN = 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/sluice-test-builds';

    expect(() => loadBuildSettings()).toThrow(/BUILD_RUNS_LOG_GROUP_ARN: must be a log group ARN ending in :\*/);
  });

  it('names SNAPSHOT_SOURCE_FUNCTION_ARN when it is missing: every run starts with the snapshot', () => {
    delete process.env.SNAPSHOT_SOURCE_FUNCTION_ARN;

    expect(() => loadBuildSettings()).toThrow(/SNAPSHOT_SOURCE_FUNCTION_ARN: .*\(not set\)/);
  });

  it('rejects a SNAPSHOT_SOURCE_FUNCTION_ARN that is not an ARN', () => {
    process.env.SNAPSHOT_SOURCE_FUNCTION_ARN = 'sluice-test-snapshotSource';

    expect(() => loadBuildSettings()).toThrow(/SNAPSHOT_SOURCE_FUNCTION_ARN/);
  });

  it('names every missing variable', () => {
    delete process.env.PIPELINE_ROLE_ARN;
    delete process.env.EVALUATE_STEP_FUNCTION_ARN;

    expect(() => loadBuildSettings()).toThrow(/PIPELINE_ROLE_ARN: .*\(not set\);.*EVALUATE_STEP_FUNCTION_ARN: .*\(not set\)/);
  });
});

describe('matchesAny', () => {
  it('matches a name listed exactly', () => {
    expect(matchesAny('abalone', ['churn', 'abalone'])).toBe(true);
  });

  it('does not match a name that only starts like a listed one', () => {
    expect(matchesAny('abalone-v2', ['abalone'])).toBe(false);
  });

  it('is case-sensitive, as repository and branch names are', () => {
    expect(matchesAny('Main', ['main'])).toBe(false);
  });

  it('matches anything with a lone *', () => {
    expect(matchesAny('feature/whatever', ['*'])).toBe(true);
  });

  it('matches a * prefix pattern', () => {
    expect(matchesAny('release/2026.11', ['release/*'])).toBe(true);
  });

  it('matches a * in the middle', () => {
    expect(matchesAny('team-a-model', ['team-*-model'])).toBe(true);
  });

  it('matches a * suffix pattern', () => {
    expect(matchesAny('churn-model', ['*-model'])).toBe(true);
  });

  it('lets * span slashes in branch names', () => {
    expect(matchesAny('feature/a/b', ['feature/*'])).toBe(true);
  });

  it('treats regular-expression characters in a pattern literally', () => {
    expect(matchesAny('release-1x0', ['release-1.0'])).toBe(false);
  });

  it('matches names containing regular-expression characters', () => {
    expect(matchesAny('fix(parser)+[1]', ['fix(parser)+[1]'])).toBe(true);
  });

  it('matches nothing with an empty list', () => {
    expect(matchesAny('main', [])).toBe(false);
  });
});

describe('loadIsolation', () => {
  const VARIABLES = ['NETWORK_ISOLATION', 'VPC_SUBNETS', 'VPC_SECURITY_GROUP_IDS', 'VOLUME_KMS_KEY_ID', 'OUTPUT_KMS_KEY_ID'];

  beforeEach(() => {
    process.env = { ...ORIGINAL_ENV };
    for (const name of VARIABLES) delete process.env[name];
  });

  afterEach(() => {
    process.env = ORIGINAL_ENV;
  });

  it('reads no settings as none: no isolation, no VPC, no keys', () => {
    expect(loadIsolation()).toEqual({ networkIsolation: false });
  });

  it('reads every setting', () => {
    Object.assign(process.env, { NETWORK_ISOLATION: 'true', VPC_SUBNETS: 'subnet-1, subnet-2', VPC_SECURITY_GROUP_IDS: 'sg-1', VOLUME_KMS_KEY_ID: 'alias/v', OUTPUT_KMS_KEY_ID: 'alias/o' });

    expect(loadIsolation()).toEqual({ networkIsolation: true, vpc: { Subnets: ['subnet-1', 'subnet-2'], SecurityGroupIds: ['sg-1'] }, volumeKmsKeyId: 'alias/v', outputKmsKeyId: 'alias/o' });
  });

  it('refuses subnets without security groups, naming both variables', () => {
    process.env.VPC_SUBNETS = 'subnet-1';

    expect(() => loadIsolation()).toThrow(new ConfigurationError('invalid environment: VPC_SUBNETS and VPC_SECURITY_GROUP_IDS: set both (a VPC) or neither'));
  });

  it('refuses a NETWORK_ISOLATION that is not true or false, naming it', () => {
    process.env.NETWORK_ISOLATION = 'yes';

    expect(() => loadIsolation()).toThrow(/NETWORK_ISOLATION/);
  });
});

describe('loadExecutionRoles', () => {
  const SHARED = 'arn:aws:iam::123456789012:role/sluice-test-SageMakerExecutionRole';

  beforeEach(() => {
    process.env = { ...ORIGINAL_ENV, SAGEMAKER_ROLE_ARN: SHARED };
    delete process.env.ROLE_REPOSITORIES;
    delete process.env.REPOSITORY_ROLE_ARN_PREFIX;
  });

  afterEach(() => {
    process.env = ORIGINAL_ENV;
  });

  it('reads only the shared role when no repository has its own', () => {
    process.env.ROLE_REPOSITORIES = '';

    expect(loadExecutionRoles()).toEqual({ roleArn: SHARED });
  });

  it('reads the repositories with their own role and the roles\' ARN prefix', () => {
    Object.assign(process.env, { ROLE_REPOSITORIES: 'abalone,churn', REPOSITORY_ROLE_ARN_PREFIX: 'arn:aws:iam::123456789012:role/sluice-test-job-' });

    expect(loadExecutionRoles()).toEqual({ roleArn: SHARED, repositoryRoles: { arnPrefix: 'arn:aws:iam::123456789012:role/sluice-test-job-', repositories: ['abalone', 'churn'] } });
  });

  it('refuses repositories with their own role but no ARN prefix, naming the variable', () => {
    process.env.ROLE_REPOSITORIES = 'abalone';

    expect(() => loadExecutionRoles()).toThrow(/REPOSITORY_ROLE_ARN_PREFIX: is required with ROLE_REPOSITORIES/);
  });
});

describe('MODEL_PACKAGE_GROUP_PREFIX', () => {
  afterEach(() => {
    process.env = ORIGINAL_ENV;
  });

  it('refuses a stage prefix holding --, which would make one stage\'s names look like another\'s namespace', () => {
    process.env = { ...ORIGINAL_ENV, MODEL_PACKAGE_GROUP_PREFIX: 'sluice-dev--eu' };

    expect(() => loadConfig('MODEL_PACKAGE_GROUP_PREFIX')).toThrow(/MODEL_PACKAGE_GROUP_PREFIX: must be a short SageMaker-style name with single hyphens/);
  });
});

describe('hasCustomEndpoint (S3 path-style addressing only against a custom endpoint)', () => {
  beforeEach(() => {
    process.env = { ...ORIGINAL_ENV };
    delete process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_ENDPOINT_URL_S3;
  });

  afterEach(() => {
    process.env = ORIGINAL_ENV;
  });

  it('says no against AWS (no endpoint setting): virtual-hosted addressing', () => {
    expect(hasCustomEndpoint('S3')).toBe(false);
  });

  it.each([['AWS_ENDPOINT_URL'], ['AWS_ENDPOINT_URL_S3']])('says yes when %s points the SDK elsewhere', (variable) => {
    process.env[variable] = 'http://127.0.0.1:4799';

    expect(hasCustomEndpoint('S3')).toBe(true);
  });
});
