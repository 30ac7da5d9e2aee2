/**
 * The deployability review (issue 10) and the IAM half of tenancy, checked on the packaged template.
 * Each `it` names the AWS page its expectation comes from.
 */
import { actions, packageService, type PackagedService, resources, resourcesOfType, statementsOf } from '../helpers/package';
import { repositoryKey, shortHash } from '../../shared/naming';
import { STACK_OUTPUTS } from '../../cli/target';

let packaged: PackagedService;
let template: PackagedService['template'];

beforeAll(() => {
  packaged = packageService('dev');
  template = packaged.template;
}, 240_000);

afterAll(() => packaged?.cleanup());

const roles = () => resourcesOfType(template, 'AWS::IAM::Role');
const sub = (text: string) => ({ 'Fn::Sub': text });

describe('the dead-letter queue policy', () => {
  const sourceArns = () => {
    const policy = template.Resources.DeadLetterQueuePolicy!.Properties.PolicyDocument as { Statement: { Condition: { ArnLike: { 'aws:SourceArn': unknown } } }[] };
    return [policy.Statement[0]!.Condition.ArnLike['aws:SourceArn']].flat();
  };

  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html: a rule's ARN is rule/[<bus>/]<rule>.
  it('admits rules on the service bus (rule/<bus>/<rule>, list_amazoneventbridge.html), whose undeliverable promotions were dropped', () => {
    expect(sourceArns()).toContainEqual({ 'Fn::Sub': ['arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${Bus}/*', { Bus: { Ref: 'EventBus' } }] });
  });

  it('still admits the stage rules on the default bus (rule/<rule>)', () => {
    expect(sourceArns()).toContainEqual(sub('arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/sluice-dev-*'));
  });

  it('is the dead-letter queue of every rule on the service bus', () => {
    const busRules = resourcesOfType(template, 'AWS::Events::Rule').filter(([, rule]) => rule.Properties.EventBusName !== undefined);
    const targets = busRules.flatMap(([, rule]) => rule.Properties.Targets as { DeadLetterConfig?: { Arn: unknown } }[]);

    expect(busRules.length).toBeGreaterThanOrEqual(2);
    for (const target of targets) expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } });
  });
});

describe('StartExecution grants', () => {
  /** `…:stateMachine:<name>` → `…:execution:<name>:*`, for ARNs written with Fn::Sub. */
  const executionsOf = (stateMachine: unknown) => {
    const text = JSON.stringify(stateMachine);
    return JSON.parse(text.replace(/:stateMachine:([^"]*?)"/, ':execution:$1:*"')) as unknown;
  };

  // https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html: a repeated name is answered from the existing execution.
  it('come with DescribeExecution on the executions of the same state machines (API_StartExecution.html)', () => {
    const missing = roles().flatMap(([id, role]) => {
      const statements = statementsOf(role);
      const described = statements.filter((s) => s.Effect === 'Allow' && actions(s).includes('states:DescribeExecution')).flatMap(resources).map((r) => JSON.stringify(r));
      return statements
        .filter((s) => s.Effect === 'Allow' && actions(s).includes('states:StartExecution'))
        .flatMap(resources)
        .filter((machine) => !described.includes(JSON.stringify(executionsOf(machine))))
        .map((machine) => `${id}: ${JSON.stringify(machine)}`);
    });

    expect(missing).toEqual([]);
  });

  it('exist in the four roles that start runs', () => {
    const starters = roles().filter(([, role]) => statementsOf(role).some((s) => actions(s).includes('states:StartExecution')));

    expect(starters.map(([id]) => id).sort()).toEqual(['CodepipelineActionRole', 'OnDatasetChangeRole', 'OnModelPackageChangeRole', 'OnSourcePushRole']);
  });
});

describe('the SageMaker execution role the stack creates', () => {
  // Images, logs, metrics and alarms live in the JobCommonPolicy every execution role has.
  const statements = () => [...statementsOf(template.Resources.SageMakerExecutionRole!), ...statementsOf(template.Resources.JobCommonPolicy!)];

  it('attaches the common job policy', () => {
    expect(template.Resources.SageMakerExecutionRole!.Properties.ManagedPolicyArns).toEqual([{ Ref: 'JobCommonPolicy' }]);
  });

  // https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html: the execution role must be able to DescribeAlarms on the rollback alarms.
  it('may DescribeAlarms on the stage endpoints\' rollback alarms, <endpoint>-5xx and <endpoint>-model-latency (deployment-guardrails-configuration.html)', () => {
    const describe = statements().filter((s) => actions(s).includes('cloudwatch:DescribeAlarms'));

    expect(describe).toHaveLength(1);
    expect(resources(describe[0]!)).toEqual([
      sub('arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:sluice-dev--*-5xx'),
      sub('arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:sluice-dev--*-model-latency'),
    ]);
  });

  // https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-algo-docker-registry-paths.html: prebuilt images are pulled with service-owned credentials.
  it('pulls images only from this account\'s ECR repositories by default, not any account\'s (sagemaker-algo-docker-registry-paths.html)', () => {
    const pull = statements().find((s) => actions(s).includes('ecr:BatchGetImage'))!;

    expect(resources(pull)).toEqual([sub('arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/*')]);
  });
});

describe('registering model versions', () => {
  const createStatements = () => statementsOf(template.Resources.RegisterModelRole!).filter((s) => actions(s).includes('sagemaker:CreateModelPackage'));

  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html: CreateModelPackage takes model-package (model-package/<name>) and model-package-group.
  it('allows CreateModelPackage on model-package/<group> as well as <group>/<version> (list_amazonsagemaker.html)', () => {
    const [create] = createStatements();

    expect(resources(create!)).toEqual([
      sub('arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model-package-group/sluice-dev--*'),
      sub('arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model-package/sluice-dev--*'),
    ]);
  });

  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html: ...IfExists passes a request without the key.
  it('never allows registering a version already Approved when the stage names no self-approval repositories; omitting the status passes (IfExists)', () => {
    const conditions = createStatements().map((s) => s.Condition);

    expect(conditions).toEqual([{ StringNotEqualsIfExists: { 'sagemaker:ModelApprovalStatus': 'Approved' } }]);
    expect(template.Conditions!.AllowSelfApproval).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] });
  });
});

describe('creating jobs', () => {
  const create = () => statementsOf(template.Resources.StartJobRole!).find((s) => actions(s).includes('sagemaker:CreateTrainingJob'))!;

  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html: CreateTrainingJob, CreateProcessingJob and CreateHyperParameterTuningJob take sagemaker:MaxRuntimeInSeconds.
  it('bounds MaxRuntimeInSeconds by the stage maxRuntimeSeconds and instance types by allowedInstanceTypes, and nothing else by default (list_amazonsagemaker.html)', () => {
    expect(actions(create()).sort()).toEqual(['sagemaker:CreateHyperParameterTuningJob', 'sagemaker:CreateProcessingJob', 'sagemaker:CreateTrainingJob']);
    expect(create().Condition).toEqual({
      'ForAllValues:StringEquals': { 'sagemaker:InstanceTypes': ['ml.t3.medium', 'ml.m5.large', 'ml.m5.xlarge', 'ml.c5.xlarge'] },
      NumericLessThanEquals: { 'sagemaker:MaxRuntimeInSeconds': 7200 },
    });
  });
});

describe('with tenancy and isolation stage parameters', () => {
  let custom: PackagedService;

  it('expires data capture after the stage\'s dataCaptureExpirationDays', () => {
    const rules = (custom.template.Resources.ArtifactsBucket!.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;

    // --param passes text; CloudFormation reads "7" as the integer 7.
    expect(String(rules.find((rule) => rule.Prefix === 'data-capture/')?.ExpirationInDays)).toBe('7');
  });

  beforeAll(() => {
    custom = packageService('team', {
      selfApprovalRepositories: 'abalone,Team/Churn',
      networkIsolation: 'true',
      vpcSubnets: 'subnet-0a,subnet-0b',
      vpcSecurityGroups: 'sg-01',
      volumeKmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555',
      outputKmsKeyId: 'alias/sluice-output',
      imageAccountIds: '111122223333',
      repositories: 'abalone,abalone-age,team-*',
      dataCaptureExpirationDays: '7',
    });
  }, 240_000);

  afterAll(() => custom?.cleanup());

  describe('an execution role for each repository listed by name', () => {
    const jobRoles = () => resourcesOfType(custom.template, 'AWS::IAM::Role').filter(([id]) => id.startsWith('JobRole'));
    const roleOf = (repository: string) => jobRoles().find(([, role]) => role.Properties.RoleName === `sluice-team-job-${shortHash([repository], 10)}`)?.[1];
    const object = (key: string) => ({ 'Fn::Sub': ['arn:${AWS::Partition}:s3:::${Bucket}/' + key, { Bucket: { Ref: 'ArtifactsBucket' } }] });

    it('creates one for abalone and abalone-age, named as start-job and create-model compute it, none for the wildcard', () => {
      expect(jobRoles()).toHaveLength(2);
      expect([roleOf('abalone'), roleOf('abalone-age')].every(Boolean)).toBe(true);
      const roleArnPrefix = { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/sluice-team-job-' };
      for (const id of ['StartJobLambdaFunction', 'CreateModelLambdaFunction']) {
        expect(custom.template.Resources[id]!.Properties.Environment).toMatchObject({ Variables: { ROLE_REPOSITORIES: 'abalone,abalone-age', REPOSITORY_ROLE_ARN_PREFIX: roleArnPrefix } });
      }
    });

    it('lets a repository\'s jobs read and write only its own builds/<repository key>/, and read datasets/', () => {
      const statements = statementsOf(roleOf('abalone')!);
      const own = `builds/${repositoryKey('abalone')}/*`;

      expect(statements.find((s) => s.Sid === 'OwnBuilds')).toMatchObject({ Action: ['s3:GetObject', 's3:PutObject'], Resource: object(own) });
      expect(statements.find((s) => s.Sid === 'ReadDatasets')).toMatchObject({ Action: 's3:GetObject', Resource: object('datasets/*') });
      expect(statements.find((s) => s.Sid === 'ListOwnBuildsAndDatasets')?.Condition).toEqual({ StringLike: { 's3:prefix': [own, 'datasets/*'] } });
      // abalone's prefix is not a prefix of abalone-age's.
      expect(JSON.stringify(statementsOf(roleOf('abalone-age')!))).not.toContain(`builds/${repositoryKey('abalone')}/`);
    });

    it('never lets a job write datasets/, whatever role it runs as', () => {
      const roles = [...jobRoles().map(([, role]) => role), custom.template.Resources.SageMakerExecutionRole!, custom.template.Resources.JobCommonPolicy!];
      const writes = roles.flatMap((role) => statementsOf(role)).filter((s) => actions(s).some((action) => /^s3:(PutObject|DeleteObject|\*)$/.test(action)));

      expect(JSON.stringify(writes.map((s) => s.Resource))).not.toContain('datasets/');
      expect(writes.length).toBeGreaterThan(0);
    });

    it('lets start-job and create-model pass the repository roles to SageMaker only', () => {
      for (const roleId of ['StartJobRole', 'CreateModelRole']) {
        const passRole = statementsOf(custom.template.Resources[roleId]!).find((s) => actions(s).includes('iam:PassRole'))!;
        expect(JSON.stringify(passRole.Resource)).toContain('sluice-team-job-*');
        expect(passRole.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } });
      }
    });
  });

  it('lets only the self-approval repositories\' groups (<prefix>-<slug>, <prefix>-<slug>--<suffix>) register Approved versions', () => {
    const selfApprove = statementsOf(custom.template.Resources.RegisterModelRole!).find((s) => s.Sid === 'SelfApproveConfiguredRepositories')!;
    const arn = (resource: string) => sub(`arn:\${AWS::Partition}:sagemaker:\${AWS::Region}:\${AWS::AccountId}:${resource}`);
    const forGroup = (group: string) => [`model-package-group/${group}`, `model-package-group/${group}--*`, `model-package/${group}`, `model-package/${group}/*`, `model-package/${group}--*`].map(arn);

    expect(selfApprove.Condition).toBeUndefined();
    expect(resources(selfApprove)).toEqual([...forGroup('sluice-team--abalone'), ...forGroup('sluice-team--Team-Churn')]);
    expect(custom.template.Conditions!.AllowSelfApproval).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['abalone,Team/Churn', ''] }] });
  });

  it('keeps the IfExists guard on every other group', () => {
    const review = statementsOf(custom.template.Resources.RegisterModelRole!).find((s) => s.Sid === 'RegisterVersionsForReview')!;

    expect(review.Condition).toEqual({ StringNotEqualsIfExists: { 'sagemaker:ModelApprovalStatus': 'Approved' } });
  });

  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html: NetworkIsolation, VpcSubnets, VpcSecurityGroupIds, VolumeKmsKey, OutputKmsKey on both actions.
  it('requires network isolation, the stage subnets and security groups and its KMS keys on every job (list_amazonsagemaker.html)', () => {
    const create = statementsOf(custom.template.Resources.StartJobRole!).find((s) => actions(s).includes('sagemaker:CreateProcessingJob'))!;

    expect(create.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'sagemaker:InstanceTypes': ['ml.t3.medium', 'ml.m5.large', 'ml.m5.xlarge', 'ml.c5.xlarge'],
        'sagemaker:VpcSubnets': ['subnet-0a', 'subnet-0b'],
        'sagemaker:VpcSecurityGroupIds': ['sg-01'],
      },
      NumericLessThanEquals: { 'sagemaker:MaxRuntimeInSeconds': 7200 },
      Bool: { 'sagemaker:NetworkIsolation': 'true' },
      ArnEquals: { 'sagemaker:VolumeKmsKey': 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555' },
      StringEquals: { 'sagemaker:OutputKmsKey': 'alias/sluice-output' },
      Null: { 'sagemaker:VpcSubnets': 'false', 'sagemaker:VpcSecurityGroupIds': 'false', 'sagemaker:VolumeKmsKey': 'false', 'sagemaker:OutputKmsKey': 'false' },
    });
  });

  // list_amazonsagemaker.html: CreateModel takes NetworkIsolation, VpcSubnets and VpcSecurityGroupIds; shared/isolation.ts isolateModel sets them on every model.
  // StartJobRole: a Transform step's models; CreateModelRole: a deployment's. Both named under sluice-team--.
  it.each(['StartJobRole', 'CreateModelRole'])('requires network isolation and the stage subnets and security groups on the models %s creates', (roleId) => {
    const statements = statementsOf(custom.template.Resources[roleId]!);
    const create = statements.filter((s) => actions(s).includes('sagemaker:CreateModel'));

    expect(create).toHaveLength(1);
    expect(actions(create[0]!)).toEqual(['sagemaker:CreateModel']);
    expect(create[0]!.Resource).toEqual(sub(`arn:\${AWS::Partition}:sagemaker:\${AWS::Region}:\${AWS::AccountId}:model/sluice-team--*`));
    expect(create[0]!.Condition).toEqual({
      Bool: { 'sagemaker:NetworkIsolation': 'true' },
      'ForAllValues:StringEquals': { 'sagemaker:VpcSubnets': ['subnet-0a', 'subnet-0b'], 'sagemaker:VpcSecurityGroupIds': ['sg-01'] },
      Null: { 'sagemaker:VpcSubnets': 'false', 'sagemaker:VpcSecurityGroupIds': 'false' },
    });
    // Describing (and tagging) a model carries no network keys: a statement without the condition.
    expect(statements.some((s) => actions(s).includes('sagemaker:DescribeModel') && s.Condition === undefined)).toBe(true);
  });

  // list_amazonsagemaker.html: CreateTransformJob takes InstanceTypes, ModelArn, VolumeKmsKey and OutputKmsKey (no runtime, network or VPC key).
  it('requires the stage KMS keys on every transform job, on the allowed instance types', () => {
    const create = statementsOf(custom.template.Resources.StartJobRole!).find((s) => actions(s).includes('sagemaker:CreateTransformJob'))!;

    expect(create.Condition).toEqual({
      'ForAllValues:StringEquals': { 'sagemaker:InstanceTypes': ['ml.t3.medium', 'ml.m5.large', 'ml.m5.xlarge', 'ml.c5.xlarge'] },
      ArnLike: { 'sagemaker:ModelArn': expect.objectContaining({ 'Fn::Sub': expect.stringMatching(/:model\/sluice-[a-z0-9-]+--\*$/) }) },
      ArnEquals: { 'sagemaker:VolumeKmsKey': 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555' },
      StringEquals: { 'sagemaker:OutputKmsKey': 'alias/sluice-output' },
      Null: { 'sagemaker:VolumeKmsKey': 'false', 'sagemaker:OutputKmsKey': 'false' },
    });
  });

  it.each(['OnSourcePushLambdaFunction', 'CodepipelineActionLambdaFunction'])('hands %s the stack\'s account and imageAccountIds, to check images at push', (functionId) => {
    const variables = (custom.template.Resources[functionId]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

    expect(variables).toMatchObject({ AWS_ACCOUNT_ID: { Ref: 'AWS::AccountId' }, IMAGE_ACCOUNT_IDS: '111122223333' });
  });

  it('lets the execution role pull from the listed image accounts besides its own', () => {
    const pull = statementsOf(custom.template.Resources.JobCommonPolicy!).find((s) => actions(s).includes('ecr:BatchGetImage'))!;

    expect(resources(pull)).toEqual([
      sub('arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/*'),
      sub('arn:${AWS::Partition}:ecr:${AWS::Region}:111122223333:repository/*'),
    ]);
  });
});

describe('the artifacts bucket the stack creates', () => {
  // https://repost.aws/knowledge-center/s3-bucket-policy-for-config-rule: deny every request whose aws:SecureTransport is false.
  it('denies every request not made over TLS, on the bucket and its objects (s3-bucket-policy-for-config-rule)', () => {
    const policy = template.Resources.ArtifactsBucketPolicy!;

    expect(policy.Condition).toBe('CreateArtifactsBucket');
    expect(policy.Properties.Bucket).toEqual({ Ref: 'ArtifactsBucket' });
    expect(policy.Properties.PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [{ 'Fn::GetAtt': ['ArtifactsBucket', 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['ArtifactsBucket', 'Arn'] }, '/*']] }],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ],
    });
  });

  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-rule.html
  it('expires old versions under builds/ after the stage buildsNoncurrentVersionDays, and no current object (registered models live in builds/)', () => {
    const rules = (template.Resources.ArtifactsBucket!.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;

    expect(rules).toContainEqual(
      expect.objectContaining({ Status: 'Enabled', Prefix: 'builds/', NoncurrentVersionExpiration: { NoncurrentDays: 30 }, ExpiredObjectDeleteMarker: true }),
    );
    expect(rules).toContainEqual(expect.objectContaining({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }));
    expect(rules.filter((rule) => rule.Prefix !== 'data-capture/' && ('ExpirationInDays' in rule || 'ExpirationDate' in rule))).toEqual([]);
  });

  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html: in a versioned
  // bucket Expiration only adds a delete marker; NoncurrentVersionExpiration removes the data.
  it('expires captured data under data-capture/ after the stage dataCaptureExpirationDays (30), and its old versions a day later (lifecycle-expire-general-considerations)', () => {
    const rules = (template.Resources.ArtifactsBucket!.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;

    expect(rules).toContainEqual({ Id: 'expire-data-capture', Status: 'Enabled', Prefix: 'data-capture/', ExpirationInDays: 30, NoncurrentVersionExpiration: { NoncurrentDays: 1 } });
  });
});

// https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-algo-docker-registry-paths.html: SageMaker pulls its prebuilt
// images with its own credentials, so they are allowed at push without an ECR grant.
describe('images checked at push', () => {
  it.each(['OnSourcePushLambdaFunction', 'CodepipelineActionLambdaFunction'])('%s gets the stack\'s account, no extra image accounts, SageMaker\'s image accounts and no Local.Images', (functionId) => {
    const variables = (template.Resources[functionId]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

    expect(variables).toMatchObject({ AWS_ACCOUNT_ID: { Ref: 'AWS::AccountId' }, IMAGE_ACCOUNT_IDS: '', LOCAL_IMAGES: 'false' });
    expect(String(variables.AWS_IMAGE_ACCOUNT_IDS).split(',')).toEqual(expect.arrayContaining(['763104351884', '382416733822', '683313688378']));
  });
});

describe('smoke test bodies under deploys/', () => {
  const bodies = sub('arn:${AWS::Partition}:s3:::${Bucket}/deploys/*');
  const grantsOn = (roleId: string, action: string) =>
    statementsOf(template.Resources[roleId]!)
      .filter((statement) => actions(statement).includes(action))
      .flatMap(resources);

  // https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html: 256 KiB per state payload, so the body (up to 5 MiB) goes by S3.
  it('prepare-deploy may write them (PutObject on deploys/* only), and nothing else may', () => {
    const writers = roles().filter(([, role]) => statementsOf(role).some((statement) => actions(statement).includes('s3:PutObject') && JSON.stringify(resources(statement)).includes('/deploys/')));

    expect(grantsOn('PrepareDeployRole', 's3:PutObject')).toEqual([expect.objectContaining({ 'Fn::Sub': [bodies['Fn::Sub'], expect.anything()] })]);
    expect(writers.map(([id]) => id)).toEqual(['PrepareDeployRole']);
  });

  it('smoke-test may read them (GetObject on deploys/* only)', () => {
    expect(grantsOn('SmokeTestRole', 's3:GetObject')).toEqual([expect.objectContaining({ 'Fn::Sub': [bodies['Fn::Sub'], expect.anything()] })]);
  });

  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-rule.html
  it('keeps a rewritten body\'s old versions for a day', () => {
    const rules = (template.Resources.ArtifactsBucket!.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;

    expect(rules).toContainEqual(expect.objectContaining({ Status: 'Enabled', Prefix: 'deploys/', NoncurrentVersionExpiration: { NoncurrentDays: 1 } }));
  });
});

describe('the partition', () => {
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html: ARNs start arn:<partition>; aws-cn and aws-us-gov are not aws.
  it('is never written as arn:aws: in the packaged template (AWS::Partition everywhere, state machine Resources included)', () => {
    const hardCoded = JSON.stringify(template).match(/"?[^"]{0,40}arn:aws:[^"]{0,60}/g) ?? [];

    expect(hardCoded).toEqual([]);
  });

  it('resolves the deploy state machine tasks\' integration ARNs from AWS::Partition', () => {
    const definition = template.Resources.ModelDeployStateMachine!.Properties.DefinitionString as { 'Fn::Sub': [string, Record<string, unknown>] };
    const variables = Object.values(definition['Fn::Sub'][1]);

    expect(variables).toContainEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:::lambda:invoke']] });
    expect(variables).toContainEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:::lambda:invoke.waitForTaskToken']] });
    expect(variables).toContainEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:::events:putEvents']] });
  });
});

describe('Step Functions logging', () => {
  const logGroupArn = (name: string) => ({
    'Fn::Join': [':', ['arn', { Ref: 'AWS::Partition' }, 'logs', { Ref: 'AWS::Region' }, { Ref: 'AWS::AccountId' }, 'log-group', name, '*']],
  });

  // https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
  it.each([
    ['ModelDeployStateMachine', 'ModelDeployLogGroup', '/aws/vendedlogs/states/sluice-dev-model-deploy'],
    ['RejectedBuildStateMachine', 'BuildRunsLogGroup', '/aws/vendedlogs/states/sluice-dev-builds'],
    ['DatasetBuildStateMachine', 'BuildRunsLogGroup', '/aws/vendedlogs/states/sluice-dev-builds'],
  ])('logs %s\'s errors without execution data to its own log group %s (cw-logs.html)', (machineId, logGroupId, name) => {
    const machine = template.Resources[machineId] as unknown as { Properties: Record<string, unknown>; DependsOn: string[] };

    expect(machine.Properties.LoggingConfiguration).toEqual({ Level: 'ERROR', IncludeExecutionData: false, Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: logGroupArn(name) } }] });
    expect(machine.DependsOn).toContain(logGroupId);
    expect(template.Resources[logGroupId]!.Properties).toEqual({ LogGroupName: name, RetentionInDays: 30 });
  });

  it.each(['OnSourcePushLambdaFunction', 'CodepipelineActionLambdaFunction'])('gives %s the build-runs log group as compiled pipelines log to it, ARN ending in :* (cw-logs.html)', (functionId) => {
    const variables = (template.Resources[functionId]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

    expect(variables.BUILD_RUNS_LOG_GROUP_ARN).toEqual(logGroupArn('/aws/vendedlogs/states/sluice-dev-builds'));
  });

  it.each(['OnSourcePushRole', 'CodepipelineActionRole'])('lets %s turn on the logging of a build state machine created before it, and nothing else of another machine', (roleId) => {
    const statement = statementsOf(template.Resources[roleId]!).find((item) => item.Sid === 'CompileBuildPipelines')!;

    expect(actions(statement)).toEqual(['states:CreateStateMachine', 'states:UpdateStateMachine', 'states:TagResource']);
    expect(JSON.stringify(statement.Resource)).toContain(':stateMachine:sluice-dev-build-*');
  });

  it.each(['ModelDeployStateMachineRole', 'PipelineStateMachineRole', 'DatasetBuildStateMachineRole'])('lets %s deliver run logs (cw-logs.html)', (roleId) => {
    const granted = statementsOf(template.Resources[roleId]!).flatMap(actions);

    expect(granted).toEqual(
      expect.arrayContaining([
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
        'logs:DescribeLogGroups',
      ]),
    );
  });
});

describe('the outputs the sluice CLI discovers a stage by (cli/target.ts)', () => {
  it('has every output the CLI reads, with the stage resource prefix and the bus of the stage', () => {
    const outputs = template.Outputs as Record<string, { Value: unknown }>;

    for (const key of STACK_OUTPUTS) expect(outputs[key]).toBeDefined();
    expect(outputs.StageResourcePrefix!.Value).toBe('sluice-dev--');
    expect(outputs.BuildStateMachinePrefix!.Value).toBe('sluice-dev-build-');
    expect(outputs.EventBusName!.Value).toEqual({ Ref: 'EventBus' });
    expect(template.Resources.EventBus!.Properties.Name).toBe('sluice-dev');
  });
});
