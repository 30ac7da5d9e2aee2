/**
 * Serverless variable resolvers: derive the EventBridge trigger pattern and the matching IAM
 * resources from one stage setting, so the rule and the permissions can never disagree.
 * Used from serverless.yml as ${file(./events/stage-params.js):<name>}.
 *
 * `repositories` and `branches` are lists of names; `*` is a wildcard (EventBridge's
 * `wildcard` operator in the rule, the same `*` in IAM ARNs).
 */
const toMatchers = (values) => values.map((value) => (String(value).includes('*') ? { wildcard: String(value) } : String(value)));

const list = async (resolveVariable, name) => {
  const value = await resolveVariable(`param:${name}`);
  const values = Array.isArray(value) ? value : String(value).split(',');
  const cleaned = values.map((v) => String(v).trim()).filter((v) => v !== '');
  if (cleaned.length === 0) throw new Error(`stage parameter ${name} must list at least one value`);
  return cleaned;
};

/** An optional list parameter: a YAML list, a comma-separated string, or empty ([] / ''). */
const optionalList = async (resolveVariable, name) => {
  const value = await resolveVariable(`param:${name}`);
  const values = Array.isArray(value) ? value : String(value ?? '').split(',');
  return values.map((v) => String(v).trim()).filter((v) => v !== '');
};

/** An optional list of 12-digit account ids; throws naming the parameter and the bad entry. */
const accountIds = async (resolveVariable, name) => {
  const accounts = await optionalList(resolveVariable, name);
  for (const account of accounts) if (!/^\d{12}$/.test(account)) throw new Error(`stage parameter ${name}: "${account}" is not a 12-digit account id`);
  return accounts;
};

const isTrue = (value) => value === true || String(value).trim().toLowerCase() === 'true';


const { createHash } = require('node:crypto');

/** shared/naming.ts shortHash of one part: sha256 hex, first `length` characters. */
const shortHash = (text, length) => createHash('sha256').update(text).digest('hex').slice(0, length);

/** shared/naming.ts toSageMakerSlug; with `keepWildcards`, `*` stays (an IAM wildcard in a repository pattern). */
const sageMakerSlug = (text, maxLength, { keepWildcards = false } = {}) => {
  const cut = text.replace(keepWildcards ? /[^a-zA-Z0-9*]+/g : /[^a-zA-Z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, maxLength).replace(/-+$/g, '');
  return cut === '' ? 'x' : cut;
};

/** shared/naming.ts repositoryKey: the repository's own folder under builds/. */
const repositoryKey = (repository) => `${sageMakerSlug(repository, 32)}-${shortHash(repository, 6)}`;

/**
 * The repositories with an execution role of their own: the literal names of `repositories` (a name
 * with `*` matches repositories nobody listed, so they share the stage's role), and none when the
 * stage brings its own role (`sagemakerRoleArn`).
 */
const roleRepositories = async (resolveVariable) => {
  if (await resolveVariable('param:sagemakerRoleArn')) return [];
  return (await list(resolveVariable, 'repositories')).filter((name) => !name.includes('*'));
};

/** `<service>-<stage>--` in lower case: the start of every job and model name (shared/naming.ts stageResourcePrefix), as SageMaker writes it in ARNs. */
const jobNamePrefix = async (resolveVariable) => `${await resolveVariable('self:service')}-${await resolveVariable('sls:stage')}--`.toLowerCase();

/** The ARN pattern of the SageMaker models named `<prefix>…` in this stack's account and region. */
const modelArns = (prefix) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:sagemaker:\${AWS::Region}:\${AWS::AccountId}:model/${prefix}*` });

/** ArnEquals for a key ARN, StringEquals for anything else (a key id or alias is compared as given). */
const kmsKeyCondition = (condition, key, value) => {
  const operator = value.startsWith('arn:') ? 'ArnEquals' : 'StringEquals';
  condition[operator] = { ...condition[operator], [key]: value };
  condition.Null = { ...condition.Null, [key]: 'false' };
};

/**
 * Adds the stage's network settings to an IAM Condition (`anyOf`: its ForAllValues:StringEquals block):
 * network isolation when set; its VPC subnets / security groups when set, then required (Null false,
 * as ForAllValues alone passes an absent key). Keys of CreateTrainingJob, CreateProcessingJob,
 * CreateHyperParameterTuningJob and CreateModel (list_amazonsagemaker.html).
 */
const networkConditions = async (resolveVariable, condition, anyOf) => {
  if (isTrue(await resolveVariable('param:networkIsolation'))) condition.Bool = { 'sagemaker:NetworkIsolation': 'true' };
  const vpc = [
    ['sagemaker:VpcSubnets', await optionalList(resolveVariable, 'vpcSubnets')],
    ['sagemaker:VpcSecurityGroupIds', await optionalList(resolveVariable, 'vpcSecurityGroups')],
  ];
  for (const [key, values] of vpc) {
    if (values.length === 0) continue;
    anyOf[key] = values;
    condition['ForAllValues:StringEquals'] = anyOf;
    condition.Null = { ...condition.Null, [key]: 'false' };
  }
};

/**
 * The statement allowing sagemaker:CreateModel on models named `<modelPrefix>…`, under the stage's
 * network settings when it sets any (shared/isolation.ts isolateModel applies them to every model
 * Sluice creates; this makes IAM refuse a model without them). A whole statement rather than a
 * Condition, as a stage without network settings needs none, and IAM has no "empty" Condition.
 * DescribeModel and AddTags stay in statements of their own: their requests carry no network keys.
 */
const createModelStatement = async (resolveVariable, sid, modelPrefix) => {
  const statement = {
    Sid: sid,
    Effect: 'Allow',
    Action: 'sagemaker:CreateModel',
    Resource: modelArns(modelPrefix),
  };
  const condition = {};
  await networkConditions(resolveVariable, condition, {});
  return Object.keys(condition).length === 0 ? statement : { ...statement, Condition: condition };
};

module.exports = {
  repositoryMatchers: async ({ resolveVariable }) => toMatchers(await list(resolveVariable, 'repositories')),
  branchMatchers: async ({ resolveVariable }) => toMatchers(await list(resolveVariable, 'branches')),
  repositoryList: async ({ resolveVariable }) => (await list(resolveVariable, 'repositories')).join(','),
  /** The `schedules` setting (repository → expression) as JSON for STAGE_SCHEDULES; '' when empty. */
  scheduleJson: async ({ resolveVariable }) => {
    const raw = await resolveVariable('param:schedules');
    // A YAML map in params, or JSON text (`--param 'schedules={"abalone":"rate(1 day)"}'`).
    const value = typeof raw === 'string' && raw.trim() !== '' ? JSON.parse(raw) : raw;
    if (value === undefined || value === null || value === '' || (typeof value === 'object' && Object.keys(value).length === 0)) return '';
    if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((expression) => typeof expression !== 'string')) {
      throw new Error('stage parameter schedules must map repositories to schedule expressions, e.g. { abalone: rate(1 day) }');
    }
    return JSON.stringify(value);
  },
  branchList: async ({ resolveVariable }) => (await list(resolveVariable, 'branches')).join(','),
  instanceTypeList: async ({ resolveVariable }) => (await list(resolveVariable, 'allowedInstanceTypes')).join(','),
  instanceTypes: async ({ resolveVariable }) => list(resolveVariable, 'allowedInstanceTypes'),
  endpointInstanceTypeList: async ({ resolveVariable }) => (await list(resolveVariable, 'allowedEndpointInstanceTypes')).join(','),
  endpointInstanceTypes: async ({ resolveVariable }) => list(resolveVariable, 'allowedEndpointInstanceTypes'),
  repositoryArns: async ({ resolveVariable }) =>
    (await list(resolveVariable, 'repositories')).map((name) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:codecommit:\${AWS::Region}:\${AWS::AccountId}:${name}`,
    })),
  /** The artifacts bucket: the stage's, or the one this stack creates when the parameter is empty. */
  artifactsBucket: async ({ resolveVariable }) => (await resolveVariable('param:artifactsBucket')) || { Ref: 'ArtifactsBucket' },
  /** The SageMaker execution role: the stage's, or the one this stack creates when the parameter is empty. */
  sagemakerRoleArn: async ({ resolveVariable }) => (await resolveVariable('param:sagemakerRoleArn')) || { 'Fn::GetAtt': ['SageMakerExecutionRole', 'Arn'] },
  /**
   * IAM Condition for CreateTrainingJob / CreateProcessingJob: the stage's instance types and runtime
   * cap always; network isolation, VPC subnets / security groups and KMS keys only when the stage sets
   * them (then the request must carry them: Null false, as ForAllValues alone passes an absent key).
   */
  jobConditions: async ({ resolveVariable }) => {
    const anyOf = { 'sagemaker:InstanceTypes': await list(resolveVariable, 'allowedInstanceTypes') };
    const condition = {
      'ForAllValues:StringEquals': anyOf,
      NumericLessThanEquals: { 'sagemaker:MaxRuntimeInSeconds': Number(await resolveVariable('param:maxRuntimeSeconds')) },
    };
    await networkConditions(resolveVariable, condition, anyOf);
    const volumeKey = String((await resolveVariable('param:volumeKmsKeyId')) ?? '').trim();
    const outputKey = String((await resolveVariable('param:outputKmsKeyId')) ?? '').trim();
    if (volumeKey) kmsKeyCondition(condition, 'sagemaker:VolumeKmsKey', volumeKey);
    if (outputKey) kmsKeyCondition(condition, 'sagemaker:OutputKmsKey', outputKey);
    return condition;
  },
  /**
   * IAM Condition for CreateTransformJob: the stage's instance types and its own models (sagemaker:ModelArn)
   * always, its KMS keys when it sets them. The service authorization reference lists no runtime,
   * network isolation or VPC key for this action (a transform job runs in its model's network: CreateModel).
   */
  transformJobConditions: async ({ resolveVariable }) => {
    const prefix = await jobNamePrefix(resolveVariable);
    const condition = {
      'ForAllValues:StringEquals': { 'sagemaker:InstanceTypes': await list(resolveVariable, 'allowedInstanceTypes') },
      // Only the stage's own models (shared/naming.ts transformModelName): a transform job never runs another stage's or a hand-made model.
      ArnLike: { 'sagemaker:ModelArn': modelArns(prefix) },
    };
    const volumeKey = String((await resolveVariable('param:volumeKmsKeyId')) ?? '').trim();
    const outputKey = String((await resolveVariable('param:outputKmsKeyId')) ?? '').trim();
    if (volumeKey) kmsKeyCondition(condition, 'sagemaker:VolumeKmsKey', volumeKey);
    if (outputKey) kmsKeyCondition(condition, 'sagemaker:OutputKmsKey', outputKey);
    return condition;
  },
  /** start-job's CreateModel: a Transform step's model (shared/naming.ts transformModelName), under the stage's prefix. */
  transformModelStatement: async ({ resolveVariable }) => createModelStatement(resolveVariable, 'CreateTransformModels', await jobNamePrefix(resolveVariable)),
  /** create-model's CreateModel: a deployment's model (shared/naming.ts deployModelName), named after the stage's model package groups. */
  deployModelStatement: async ({ resolveVariable }) =>
    createModelStatement(resolveVariable, 'CreateModelsFromOwnPackages', `${await resolveVariable('self:custom.modelPackageGroupPrefix')}--`),
  /** The stage's VPC subnets / security groups joined with commas; '' when none. */
  vpcSubnetList: async ({ resolveVariable }) => (await optionalList(resolveVariable, 'vpcSubnets')).join(','),
  vpcSecurityGroupList: async ({ resolveVariable }) => (await optionalList(resolveVariable, 'vpcSecurityGroups')).join(','),
  /** `<service>-<stage>--` in lower case: the start of every job name (shared/naming.ts jobName), as SageMaker writes it in ARNs. */
  jobNamePrefix: async ({ resolveVariable }) => jobNamePrefix(resolveVariable),
  /** The repositories with their own execution role, joined with commas ('' when none): start-job's and create-model's ROLE_REPOSITORIES. */
  roleRepositoryList: async ({ resolveVariable }) => (await roleRepositories(resolveVariable)).join(','),
  /**
   * One SageMaker execution role per listed repository (`<service>-<stage>-job-<10 hex of the name>`,
   * shared/naming.ts repositoryRoleName): its jobs and endpoints read and write only the repository's
   * own `builds/<repository key>/`, read `datasets/`, write captured data only for its own endpoints;
   * the rest (images, logs, metrics, alarms) from the JobCommonPolicy every execution role shares.
   * A CloudFormation fragment for serverless.yml's `resources` list ({} when there are none).
   */
  repositoryRoleResources: async ({ resolveVariable }) => {
    const repositories = await roleRepositories(resolveVariable);
    if (repositories.length === 0) return {};
    const rolePrefix = await resolveVariable('self:custom.jobRolePrefix');
    const groupPrefix = await resolveVariable('self:custom.modelPackageGroupPrefix');
    const bucket = await resolveVariable('self:custom.artifactsBucket');
    const object = (key) => ({ 'Fn::Sub': [`arn:\${AWS::Partition}:s3:::\${Bucket}/${key}`, { Bucket: bucket }] });
    const resources = {};
    for (const repository of repositories) {
      const hash = shortHash(repository, 10);
      const own = `builds/${repositoryKey(repository)}/`;
      const group = `${groupPrefix}--${sageMakerSlug(repository, 63)}`;
      resources[`JobRole${hash}`] = {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: `${rolePrefix}${hash}`,
          Description: `SageMaker jobs and endpoints of repository ${repository}`.slice(0, 1000),
          Tags: [{ Key: 'sluice:repository', Value: repository }],
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          },
          ManagedPolicyArns: [{ Ref: 'JobCommonPolicy' }],
          Policies: [
            {
              PolicyName: 'repository-data',
              PolicyDocument: {
                Version: '2012-10-17',
                Statement: [
                  { Sid: 'OwnBuilds', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: object(`${own}*`) },
                  { Sid: 'ReadDatasets', Effect: 'Allow', Action: 's3:GetObject', Resource: object('datasets/*') },
                  {
                    Sid: 'ListOwnBuildsAndDatasets',
                    Effect: 'Allow',
                    Action: 's3:ListBucket',
                    Resource: { 'Fn::Sub': ['arn:${AWS::Partition}:s3:::${Bucket}', { Bucket: bucket }] },
                    Condition: { StringLike: { 's3:prefix': [`${own}*`, 'datasets/*'] } },
                  },
                  {
                    Sid: 'OwnEndpointsDataCapture',
                    Effect: 'Allow',
                    Action: 's3:PutObject',
                    Resource: [`data-capture/${group}-staging/*`, `data-capture/${group}-prod/*`, `data-capture/${group}--*`].map(object),
                  },
                ],
              },
            },
          ],
        },
      };
    }
    return { Resources: resources };
  },
  /**
   * One e-mail subscription (`AWS::SNS::Subscription`, protocol email) to the notification topic per
   * `notificationEmails` address, logical id `NotificationEmail<10 hex of the address>` so adding or removing
   * one address leaves the others' subscriptions alone. A CloudFormation fragment for serverless.yml's
   * `resources` list ({} when there are none). Throws naming the parameter and the entry that is not an address.
   */
  notificationSubscriptionResources: async ({ resolveVariable }) => {
    const addresses = await optionalList(resolveVariable, 'notificationEmails');
    if (addresses.length === 0) return {};
    const resources = {};
    for (const address of addresses) {
      if (!/^[^@\s,]+@[^@\s,]+\.[^@\s,]+$/.test(address)) throw new Error(`stage parameter notificationEmails: "${address}" is not an e-mail address`);
      // The same address twice (in any case) is one subscription, the first spelling.
      const logicalId = `NotificationEmail${shortHash(address.toLowerCase(), 10)}`;
      if (resources[logicalId]) continue;
      resources[logicalId] = {
        Type: 'AWS::SNS::Subscription',
        Properties: { TopicArn: { Ref: 'NotificationTopic' }, Protocol: 'email', Endpoint: address },
      };
    }
    return { Resources: resources };
  },
  /** `selfApprovalRepositories` joined with commas; '' when none (the AllowSelfApproval condition). */
  selfApprovalRepositoryList: async ({ resolveVariable }) => (await optionalList(resolveVariable, 'selfApprovalRepositories')).join(','),
  /**
   * The model package groups (and their versions) of the self-approval repositories: `<prefix>-<slug>`
   * and `<prefix>-<slug>--<suffix>`, never `<prefix>-<slug>` followed by more of another name.
   */
  selfApprovalPackageArns: async ({ resolveVariable }) => {
    const prefix = await resolveVariable('self:custom.modelPackageGroupPrefix');
    const arn = (resource) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:sagemaker:\${AWS::Region}:\${AWS::AccountId}:${resource}` });
    return (await optionalList(resolveVariable, 'selfApprovalRepositories')).flatMap((repository) => {
      const group = `${prefix}--${sageMakerSlug(repository, 63, { keepWildcards: true })}`;
      return [`model-package-group/${group}`, `model-package-group/${group}--*`, `model-package/${group}`, `model-package/${group}/*`, `model-package/${group}--*`].map(arn);
    });
  },
  /** ECR repositories the SageMaker execution role may pull from: this account's, and `imageAccountIds`'. */
  /** imageAccountIds and awsImageAccountIds joined with commas for on-source-push's check at push ('' when none). */
  imageAccountIdList: async ({ resolveVariable }) => (await accountIds(resolveVariable, 'imageAccountIds')).join(','),
  awsImageAccountIdList: async ({ resolveVariable }) => (await accountIds(resolveVariable, 'awsImageAccountIds')).join(','),
  imageRepositoryArns: async ({ resolveVariable }) => {
    const accounts = await accountIds(resolveVariable, 'imageAccountIds');
    return [
      { 'Fn::Sub': 'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/*' },
      ...accounts.map((account) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:ecr:\${AWS::Region}:${account}:repository/*` })),
    ];
  },
};
