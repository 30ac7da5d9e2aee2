import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { actions, packageService, type PackagedService, resources, resourcesOfType, statementsOf } from '../helpers/package';

/** Actions the IAM service authorization reference lists with no resource type: only "*" can grant them. */
const STAR_ONLY_ACTIONS = new Set([
  'ecr:GetAuthorizationToken',
  'cloudwatch:PutMetricData',
  'sagemaker:ListModelPackages',
  'sagemaker:ListEndpointConfigs',
  'sagemaker:ListModels',
  'codepipeline:PutJobSuccessResult',
  'codepipeline:PutJobFailureResult',
  // on-build-status-change's reconcile pass finds the stage's build state machines by name; ListStateMachines has no resource type.
  'states:ListStateMachines',
  // The state machines' run logs (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
]);

let packaged: PackagedService;
let template: PackagedService['template'];

beforeAll(() => {
  packaged = packageService('dev');
  template = packaged.template;
}, 240_000);

afterAll(() => packaged?.cleanup());

describe('serverless package --stage dev (offline, documented defaults)', () => {
  it('produces one artifact per function', () => {
    for (const name of ['onSourcePush', 'snapshotSource', 'startJob', 'onJobStateChange', 'reconcileJobs', 'evaluateStep', 'registerModel', 'onBuildStatusChange']) {
      const zip = join(packaged.dir, `${name}.zip`);
      expect(existsSync(zip)).toBe(true);
      expect(statSync(zip).size).toBeGreaterThan(1000);
    }
  });

  it('runs every function on nodejs22.x with its own role', () => {
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    const roles = functions.map(([, fn]) => JSON.stringify(fn.Properties.Role));

    // 9 for the build (on-dataset-change among them), 12 for the deploy, the CodePipeline action.
    expect(functions).toHaveLength(22);
    expect(functions.every(([, fn]) => fn.Properties.Runtime === 'nodejs22.x')).toBe(true);
    expect(new Set(roles).size).toBe(functions.length);
  });

  it('declares only the rejected-build state machine for builds: pipelines are compiled per repository at push', () => {
    const machine = template.Resources.RejectedBuildStateMachine!;

    expect(machine.Type).toBe('AWS::StepFunctions::StateMachine');
    expect(machine.Properties.StateMachineName).toBe('sluice-dev-build-rejected');
    expect(machine.Properties.RoleArn).toEqual({ 'Fn::GetAtt': ['PipelineStateMachineRole', 'Arn'] });
  });

  it('gives on-source-push what it compiles pipelines with: the task functions, the bus and the pipeline role', () => {
    const environment = template.Resources.OnSourcePushLambdaFunction!.Properties.Environment as { Variables: Record<string, unknown> };

    expect(environment.Variables).toMatchObject({
      BUILD_STATE_MACHINE_PREFIX: 'sluice-dev-build-',
      PIPELINE_ROLE_ARN: { 'Fn::GetAtt': ['PipelineStateMachineRole', 'Arn'] },
      SNAPSHOT_SOURCE_FUNCTION_ARN: { 'Fn::GetAtt': ['SnapshotSourceLambdaFunction', 'Arn'] },
      START_JOB_FUNCTION_ARN: { 'Fn::GetAtt': ['StartJobLambdaFunction', 'Arn'] },
      EVALUATE_STEP_FUNCTION_ARN: { 'Fn::GetAtt': ['EvaluateStepLambdaFunction', 'Arn'] },
      REGISTER_MODEL_FUNCTION_ARN: { 'Fn::GetAtt': ['RegisterModelLambdaFunction', 'Arn'] },
      EVENT_BUS_NAME: { Ref: 'EventBus' },
    });
  });

  it.each(['OnSourcePushLambdaFunction', 'CodepipelineActionLambdaFunction'])('leaves the source size limit out of %s: the snapshot is the run\'s', (functionId) => {
    const environment = template.Resources[functionId]!.Properties.Environment as { Variables: Record<string, unknown> };

    expect(environment.Variables).toMatchObject({ SNAPSHOT_SOURCE_FUNCTION_ARN: { 'Fn::GetAtt': ['SnapshotSourceLambdaFunction', 'Arn'] } });
    expect(environment.Variables).not.toHaveProperty('MAX_SOURCE_BYTES');
  });

  it('gives snapshot-source the artifacts bucket and the stage\'s source size limit, and nothing of the build settings', () => {
    const environment = template.Resources.SnapshotSourceLambdaFunction!.Properties.Environment as { Variables: Record<string, unknown> };

    expect(environment.Variables).toMatchObject({ ARTIFACTS_BUCKET: { Ref: 'ArtifactsBucket' }, MAX_SOURCE_BYTES: '52428800' });
    expect(Object.keys(environment.Variables).filter((name) => name.endsWith('_FUNCTION_ARN') || name.startsWith('TRIGGER_') || name === 'PIPELINE_ROLE_ARN')).toEqual([]);
  });

  it('starts requested builds from Model Build Requested on the service bus', () => {
    const rule = template.Resources.SluicedevonSourcePushrule2EventBridgeRule!;

    expect(rule.Properties.EventPattern).toEqual({ source: ['sluice'], 'detail-type': ['Model Build Requested'] });
    expect(rule.Properties.EventBusName).toEqual({ 'Fn::GetAtt': ['EventBus', 'Name'] });
  });

  it('announces failed, timed-out and aborted build runs of this stage only', () => {
    const rule = template.Resources.SluicedevonBuildStatusChangerule1EventBridgeRule!;

    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        stateMachineArn: [{ prefix: { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:sluice-dev-build-' } }],
      },
    });
  });

  it('keeps cached step results in an encrypted table with TTL', () => {
    const table = template.Resources.StepCacheTable!.Properties;

    expect(table.KeySchema).toEqual([{ AttributeName: 'cacheKey', KeyType: 'HASH' }]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(table.SSESpecification).toEqual({ SSEEnabled: true });
  });

  it('triggers builds on pushes to branch main of the configured repositories, created or updated', () => {
    const rule = template.Resources.SluicedevonSourcePushrule1EventBridgeRule!;

    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.codecommit'],
      'detail-type': ['CodeCommit Repository State Change'],
      detail: {
        event: ['referenceCreated', 'referenceUpdated'],
        referenceType: ['branch'],
        repositoryName: [{ wildcard: '*' }],
        referenceName: ['main'],
      },
    });
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': ['OnSourcePushLambdaFunction', 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } },
      }),
    ]);
  });

  it('resumes builds only on terminal training, processing, tuning and transform job states of this stage\'s jobs (sluice-dev--…)', () => {
    const rule = template.Resources.SluicedevonJobStateChangerule1EventBridgeRule!;

    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.sagemaker'],
      'detail-type': ['SageMaker Training Job State Change', 'SageMaker Processing Job State Change', 'SageMaker HyperParameter Tuning Job State Change', 'SageMaker Transform Job State Change'],
      detail: {
        $or: [
          { TrainingJobStatus: ['Completed', 'Failed', 'Stopped'], TrainingJobName: [{ prefix: 'sluice-dev--' }] },
          { ProcessingJobStatus: ['Completed', 'Failed', 'Stopped'], ProcessingJobName: [{ prefix: 'sluice-dev--' }] },
          { HyperParameterTuningJobStatus: ['Completed', 'Failed', 'Stopped'], HyperParameterTuningJobName: [{ prefix: 'sluice-dev--' }] },
          { TransformJobStatus: ['Completed', 'Failed', 'Stopped'], TransformJobName: [{ prefix: 'sluice-dev--' }] },
        ],
      },
    });
  });

  it('runs the reconciler on a schedule', () => {
    const rule = template.Resources.ReconcileJobsEventsRuleSchedule1!;

    expect(rule.Properties.ScheduleExpression).toBe('rate(5 minutes)');
  });

  it('bounds async retries of event handlers and sends failures to the dead-letter queue', () => {
    const configs = resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig').map(([, config]) => config.Properties);

    // on-source-push, on-dataset-change, on-job-state-change, on-build-status-change, on-model-package-change, on-endpoint-state-change, on-promotion.
    expect(configs).toHaveLength(7);
    for (const config of configs) {
      expect(config.MaximumRetryAttempts).toBe(2);
      expect(config.DestinationConfig).toEqual({ OnFailure: { Destination: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } });
    }
  });

  it('creates the artifacts bucket and SageMaker role only when the stage brings none', () => {
    expect(template.Resources.ArtifactsBucket!.Condition).toBe('CreateArtifactsBucket');
    expect(template.Resources.SageMakerExecutionRole!.Condition).toBe('CreateSageMakerRole');
    expect(template.Conditions).toEqual({
      CreateArtifactsBucket: { 'Fn::Equals': ['', ''] },
      CreateSageMakerRole: { 'Fn::Equals': ['', ''] },
      AllowSelfApproval: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] },
    });
  });

  it('keeps build announcements in an encrypted table with TTL and point-in-time recovery', () => {
    const table = template.Resources.BuildAnnouncementTable!.Properties;

    expect(table.KeySchema).toEqual([{ AttributeName: 'announcement', KeyType: 'HASH' }]);
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(table.SSESpecification).toEqual({ SSEEnabled: true });
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('runs on-build-status-change on the reconcile schedule too, with the table, the build prefix and the minimum age', () => {
    const rule = template.Resources.OnBuildStatusChangeEventsRuleSchedule1!;
    const environment = template.Resources.OnBuildStatusChangeLambdaFunction!.Properties.Environment as { Variables: Record<string, unknown> };

    expect(rule.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    expect(rule.Properties.Name).toBe('sluice-dev-reconcile-build-ends');
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': ['OnBuildStatusChangeLambdaFunction', 'Arn'] } })]);
    expect(environment.Variables).toMatchObject({
      BUILD_ANNOUNCEMENT_TABLE: { Ref: 'BuildAnnouncementTable' },
      BUILD_STATE_MACHINE_PREFIX: 'sluice-dev-build-',
      RECONCILE_MIN_AGE_SECONDS: '120',
    });
  });

  it('keeps task tokens in an encrypted table with TTL', () => {
    const table = template.Resources.JobTokenTable!.Properties;

    expect(table.KeySchema).toEqual([{ AttributeName: 'jobName', KeyType: 'HASH' }]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(table.SSESpecification).toEqual({ SSEEnabled: true });
  });
});

describe('scheduled and data-arrival builds', () => {
  const statement = (roleId: string, sid: string) => statementsOf(template.Resources[roleId]!).find((item) => item.Sid === sid)!;
  const scheduleRules = { 'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/sluice-dev--schedule-*' };
  const onSourcePush = { 'Fn::Sub': 'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:sluice-dev-onSourcePush' };

  it('lets on-source-push keep only the stage\'s schedule rules (sluice-dev--schedule-*), targeting only itself', () => {
    expect(statement('OnSourcePushRole', 'KeepScheduleRules')).toMatchObject({ Action: ['events:PutRule', 'events:RemoveTargets', 'events:DeleteRule'], Resource: scheduleRules });
    expect(statement('OnSourcePushRole', 'TargetScheduleRulesAtThisFunctionOnly')).toMatchObject({ Action: 'events:PutTargets', Resource: scheduleRules, Condition: { ArnEquals: { 'events:TargetArn': onSourcePush } } });
    const environment = (template.Resources.OnSourcePushLambdaFunction!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(environment).toMatchObject({ SCHEDULE_RULE_PREFIX: 'sluice-dev--schedule-', BUILD_FUNCTION_ARN: onSourcePush, TRIGGER_TABLE: { Ref: 'TriggerTable' }, STAGE_SCHEDULES: '' });
  });

  it('lets only those rules, of this account, invoke on-source-push', () => {
    expect(template.Resources.OnSourcePushSchedulePermission!.Properties).toEqual({
      FunctionName: { 'Fn::GetAtt': ['OnSourcePushLambdaFunction', 'Arn'] },
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: scheduleRules,
    });
  });

  it('turns on EventBridge notifications on the artifacts bucket it creates', () => {
    expect(template.Resources.ArtifactsBucket!.Properties.NotificationConfiguration).toEqual({ EventBridgeConfiguration: { EventBridgeEnabled: true } });
  });

  it('runs on-dataset-change on Object Created under datasets/ of the artifacts bucket only, dead-lettering what it cannot deliver', () => {
    const rule = resourcesOfType(template, 'AWS::Events::Rule').find(([, item]) => item.Properties.Name === 'sluice-dev-dataset-change')![1];

    expect(rule.Properties.EventBusName).toBeUndefined();
    expect(rule.Properties.EventPattern).toEqual({ source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { bucket: { name: [{ Ref: 'ArtifactsBucket' }] }, object: { key: [{ prefix: 'datasets/' }] } } });
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': ['OnDatasetChangeLambdaFunction', 'Arn'] }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } })]);
  });

  it('gives on-dataset-change the trigger table and the dataset-build state machine, nothing else', () => {
    const granted = statementsOf(template.Resources.OnDatasetChangeRole!).map((item) => [item.Sid, actions(item), item.Resource]);

    expect(granted).toEqual([
      ['Logs', ['logs:CreateLogStream', 'logs:PutLogEvents'], expect.anything()],
      ['ReadersAndDebounceWindows', ['dynamodb:Query', 'dynamodb:PutItem'], { 'Fn::GetAtt': ['TriggerTable', 'Arn'] }],
      ['StartDatasetBuilds', ['states:StartExecution'], { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:sluice-dev-dataset-build' }],
      ['SeeDatasetBuildsAlreadyStarted', ['states:DescribeExecution'], { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:sluice-dev-dataset-build:*' }],
      ['DeadLetters', ['sqs:SendMessage'], { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] }],
    ]);
  });

  it('lets the dataset-build state machine publish only on the stage bus', () => {
    const puts = statementsOf(template.Resources.DatasetBuildStateMachineRole!).filter((item) => actions(item).includes('events:PutEvents'));

    expect(puts).toEqual([expect.objectContaining({ Resource: { 'Fn::GetAtt': ['EventBus', 'Arn'] } })]);
    expect(template.Resources.DatasetBuildStateMachine!.Properties.RoleArn).toEqual({ 'Fn::GetAtt': ['DatasetBuildStateMachineRole', 'Arn'] });
  });

  it('keeps dataset readers and debounce windows in an encrypted table (pk, sk) with TTL and point-in-time recovery', () => {
    expect(template.Resources.TriggerTable!.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });
});

describe('IAM in the packaged template', () => {
  const roles = () => resourcesOfType(template, 'AWS::IAM::Role');

  it('never grants Action "*" or a service-wide wildcard action', () => {
    const wildcards = roles().flatMap(([id, role]) => statementsOf(role).flatMap((s) => actions(s).filter((a) => a === '*' || a.endsWith(':*')).map((a) => `${id}: ${a}`)));

    expect(wildcards).toEqual([]);
  });

  it('uses Resource "*" only for actions that have no resource-level permissions', () => {
    const offenders = roles().flatMap(([id, role]) =>
      statementsOf(role)
        .filter((s) => resources(s).includes('*'))
        .flatMap((s) => actions(s).filter((a) => !STAR_ONLY_ACTIONS.has(a)).map((a) => `${id}: ${a}`)),
    );

    expect(offenders).toEqual([]);
  });

  it('grants nothing on another stage\'s SageMaker jobs: every training, processing, tuning and transform job resource starts with sluice-dev--', () => {
    const jobResources = roles()
      .flatMap(([, role]) => statementsOf(role))
      .flatMap((s) => resources(s).map((resource) => JSON.stringify(resource)))
      .filter((resource) => /(training|processing|hyper-parameter-tuning|transform)-job\//.test(resource));

    expect(jobResources.length).toBeGreaterThan(15);
    for (const resource of jobResources) expect(resource).toMatch(/(training|processing|hyper-parameter-tuning|transform)-job\/sluice-dev--\*/);
  });

  it('passes the stage execution role only to SageMaker, and the pipeline role only to Step Functions', () => {
    const passRole = roles().flatMap(([id, role]) => statementsOf(role).filter((s) => actions(s).includes('iam:PassRole')).map((s) => ({ id, s })));
    const toSageMaker = passRole.filter(({ s }) => JSON.stringify(s.Resource).includes('SageMakerExecutionRole'));
    const toStepFunctions = passRole.filter(({ s }) => JSON.stringify(s.Resource).includes('PipelineStateMachineRole'));

    // start-job (jobs) and create-model (the model's execution role).
    expect(toSageMaker.map(({ id }) => id).sort()).toEqual(['CreateModelRole', 'StartJobRole']);
    for (const { s } of toSageMaker) {
      // The stage's shared role, and the roles of the repositories it lists by name (sluice-dev-job-<hash>).
      expect(s.Resource).toEqual([
        { 'Fn::GetAtt': ['SageMakerExecutionRole', 'Arn'] },
        { 'Fn::Join': ['', [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/' }, 'sluice-dev-job-*']] },
      ]);
      expect(s.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } });
    }
    // on-source-push and the CodePipeline action create the compiled pipelines' state machines.
    expect(toStepFunctions.map(({ id }) => id).sort()).toEqual(['CodepipelineActionRole', 'OnSourcePushRole']);
    for (const { s } of toStepFunctions) {
      expect(s.Resource).toEqual({ 'Fn::GetAtt': ['PipelineStateMachineRole', 'Arn'] });
      expect(s.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'states.amazonaws.com' } });
    }
    expect(passRole).toHaveLength(toSageMaker.length + toStepFunctions.length);
  });

  it('lets builds create state machines only under the stage build prefix', () => {
    for (const roleId of ['OnSourcePushRole', 'CodepipelineActionRole']) {
      const create = statementsOf(template.Resources[roleId]!).find((s) => actions(s).includes('states:CreateStateMachine'))!;

      expect(create.Resource).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:sluice-dev-build-*' });
    }
  });

  it('lets start-job create jobs only on the stage allowed instance types', () => {
    const create = statementsOf(template.Resources.StartJobRole!).find((s) => actions(s).includes('sagemaker:CreateTrainingJob'))!;

    expect(create.Condition).toMatchObject({
      'ForAllValues:StringEquals': { 'sagemaker:InstanceTypes': ['ml.t3.medium', 'ml.m5.large', 'ml.m5.xlarge', 'ml.c5.xlarge'] },
    });
  });

  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html: CreateHyperParameterTuningJob takes the
  // same instance-type, runtime, network and KMS keys as CreateTrainingJob; CreateTransformJob only instance types, the model's ARN and KMS keys.
  it('lets start-job create tuning jobs under the training jobs\' conditions, transform jobs only on the allowed instance types, and only the stage\'s models', () => {
    const statements = statementsOf(template.Resources.StartJobRole!);
    const arn = (type: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:sagemaker:\${AWS::Region}:\${AWS::AccountId}:${type}/sluice-dev--*` });
    const of = (action: string) => statements.filter((s) => actions(s).includes(action));
    const jobs = of('sagemaker:CreateHyperParameterTuningJob');
    const transform = of('sagemaker:CreateTransformJob');
    const model = of('sagemaker:CreateModel');

    expect(jobs).toHaveLength(1);
    expect(actions(jobs[0]!).sort()).toEqual(['sagemaker:CreateHyperParameterTuningJob', 'sagemaker:CreateProcessingJob', 'sagemaker:CreateTrainingJob']);
    expect(jobs[0]!.Resource).toEqual([arn('processing-job'), arn('training-job'), arn('hyper-parameter-tuning-job')]);
    expect(jobs[0]!.Condition).toMatchObject({ NumericLessThanEquals: { 'sagemaker:MaxRuntimeInSeconds': expect.any(Number) } });
    expect(transform).toHaveLength(1);
    expect(actions(transform[0]!)).toEqual(['sagemaker:CreateTransformJob']);
    expect(transform[0]!.Resource).toEqual(arn('transform-job'));
    expect(transform[0]!.Condition).toEqual({
      'ForAllValues:StringEquals': { 'sagemaker:InstanceTypes': ['ml.t3.medium', 'ml.m5.large', 'ml.m5.xlarge', 'ml.c5.xlarge'] },
      // Only the stage's own models: sagemaker:ModelArn is a key of CreateTransformJob.
      ArnLike: { 'sagemaker:ModelArn': arn('model') },
    });
    expect(model).toHaveLength(1);
    expect(actions(model[0]!)).toEqual(['sagemaker:CreateModel']);
    expect(model[0]!.Resource).toEqual(arn('model'));
    // This stage sets no network isolation or VPC: nothing to require of the model.
    expect(model[0]!.Condition).toBeUndefined();
    const describeModel = of('sagemaker:DescribeModel');
    expect(describeModel.map((s) => [actions(s), s.Resource])).toEqual([[['sagemaker:DescribeModel'], arn('model')]]);
    // Reading and tagging: only the stage's jobs and models; settle reads a tuning job's best training job (a training job).
    const describe = of('sagemaker:DescribeHyperParameterTuningJob');
    expect(describe).toHaveLength(1);
    expect(actions(describe[0]!).sort()).toEqual([
      'sagemaker:AddTags',
      'sagemaker:DescribeHyperParameterTuningJob',
      'sagemaker:DescribeProcessingJob',
      'sagemaker:DescribeTrainingJob',
      'sagemaker:DescribeTransformJob',
    ]);
    expect(describe[0]!.Resource).toEqual([arn('processing-job'), arn('training-job'), arn('hyper-parameter-tuning-job'), arn('transform-job'), arn('model')]);
    // No stop, delete or update of anything from start-job.
    expect(statements.flatMap((s) => actions(s)).filter((a) => /^sagemaker:(Stop|Delete|Update)/.test(a))).toEqual([]);
  });

  it('lets on-job-state-change and reconcile-jobs describe the tuning and transform jobs they settle', () => {
    for (const roleId of ['OnJobStateChangeRole', 'ReconcileJobsRole']) {
      const describe = statementsOf(template.Resources[roleId]!).find((s) => actions(s).includes('sagemaker:DescribeTrainingJob'))!;

      expect(actions(describe).sort()).toEqual(['sagemaker:DescribeHyperParameterTuningJob', 'sagemaker:DescribeProcessingJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:DescribeTransformJob']);
    }
  });

  it('gives on-source-push read access to the configured repositories and nothing of SageMaker', () => {
    const statements = statementsOf(template.Resources.OnSourcePushRole!);

    expect(statements.flatMap(actions).filter((a) => a.startsWith('sagemaker:'))).toEqual([]);
    expect(statements.find((s) => s.Sid === 'ReadRepository')!.Action).toEqual(['codecommit:GetFile', 'codecommit:GetBranch', 'codecommit:GetCommit']);
  });

  it.each(['OnSourcePushRole', 'CodepipelineActionRole'])('lets %s read only mlops.yaml, branch heads and commits (their tree ids) from CodeCommit, not the tree', (roleId) => {
    const codecommit = statementsOf(template.Resources[roleId]!).flatMap(actions).filter((a) => a.startsWith('codecommit:'));

    expect(codecommit.sort()).toEqual(['codecommit:GetBranch', 'codecommit:GetCommit', 'codecommit:GetFile']);
  });

  it.each(['OnSourcePushRole', 'CodepipelineActionRole'])('lets %s GetCommit in its ReadRepository statement, on the repositories it reads mlops.yaml from', (roleId) => {
    const getCommit = statementsOf(template.Resources[roleId]!).filter((s) => actions(s).includes('codecommit:GetCommit'));

    expect(getCommit.map((s) => s.Sid)).toEqual(['ReadRepository']);
    expect(actions(getCommit[0]!)).toContain('codecommit:GetFile');
    expect(getCommit[0]!.Effect).toBe('Allow');
  });

  it('lets only snapshot-source read the tree (GetFolder, GetBlob)', () => {
    const readers = roles().filter(([, role]) => statementsOf(role).flatMap(actions).some((a) => a === 'codecommit:GetFolder' || a === 'codecommit:GetBlob'));

    expect(readers.map(([id]) => id)).toEqual(['SnapshotSourceRole']);
  });

  describe('the snapshot-source role', () => {
    const statements = () => statementsOf(template.Resources.SnapshotSourceRole!);

    it('runs snapshot-source', () => {
      expect(template.Resources.SnapshotSourceLambdaFunction!.Properties.Role).toEqual({ 'Fn::GetAtt': ['SnapshotSourceRole', 'Arn'] });
    });

    it('allows only logs, reading the tree, and reading and writing builds/', () => {
      expect(statements().flatMap(actions).sort()).toEqual(['codecommit:GetBlob', 'codecommit:GetFolder', 'logs:CreateLogStream', 'logs:PutLogEvents', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
      expect(statements().every((s) => s.Effect === 'Allow')).toBe(true);
    });

    it('reads the tree only of the configured repositories, as on-source-push reads their mlops.yaml', () => {
      const read = statements().find((s) => actions(s).includes('codecommit:GetFolder'))!;
      const onSourcePush = statementsOf(template.Resources.OnSourcePushRole!).find((s) => s.Sid === 'ReadRepository')!;

      expect(actions(read).sort()).toEqual(['codecommit:GetBlob', 'codecommit:GetFolder']);
      expect(resources(read)).toEqual(resources(onSourcePush));
      for (const resource of resources(read)) expect(JSON.stringify(resource)).toMatch(/^\{"Fn::Sub":"arn:\$\{AWS::Partition\}:codecommit:\$\{AWS::Region\}:\$\{AWS::AccountId\}:[^:"]+"\}$/);
    });

    it('reads and writes objects only under builds/ of the artifacts bucket', () => {
      const objects = statements().filter((s) => actions(s).some((a) => a === 's3:GetObject' || a === 's3:PutObject'));

      expect(objects).toHaveLength(1);
      expect(objects[0]!.Resource).toEqual({ 'Fn::Sub': ['arn:${AWS::Partition}:s3:::${Bucket}/builds/*', { Bucket: { Ref: 'ArtifactsBucket' } }] });
    });

    it('writes logs only to its own log group', () => {
      const logs = statements().find((s) => actions(s).includes('logs:PutLogEvents'))!;

      expect(logs.Resource).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/sluice-dev-snapshotSource:*' });
    });
  });

  it.each(['OnSourcePushRole', 'SnapshotSourceRole', 'EvaluateStepRole', 'RegisterModelRole'])('lets %s list builds/ so a missing object is a 404, not a 403', (roleId) => {
    const list = statementsOf(template.Resources[roleId]!).find((s) => actions(s).includes('s3:ListBucket'))!;

    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': 'builds/*' } });
  });

  it('lets on-build-status-change read build runs, list the stage\'s, record announcements, stop an ended run\'s jobs and publish, and nothing more', () => {
    const grants = statementsOf(template.Resources.OnBuildStatusChangeRole!).map((s) => ({ actions: actions(s).sort(), resource: s.Resource, ...(s.Condition ? { condition: s.Condition } : {}) }));
    // Only this stage's jobs: their names start with the stage (shared/naming.ts jobName).
    const jobs = ['training-job', 'processing-job', 'hyper-parameter-tuning-job', 'transform-job'].map((type) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:sagemaker:\${AWS::Region}:\${AWS::AccountId}:${type}/sluice-dev--*` }));
    const executions = { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:sluice-dev-build-*:*' };

    expect(grants).toEqual([
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/sluice-dev-onBuildStatusChange:*' } },
      { actions: ['states:GetExecutionHistory'], resource: executions },
      { actions: ['states:ListStateMachines'], resource: '*' },
      { actions: ['states:ListExecutions'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:sluice-dev-build-*' } },
      { actions: ['states:DescribeExecution'], resource: executions },
      { actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resource: { 'Fn::GetAtt': ['BuildAnnouncementTable', 'Arn'] } },
      { actions: ['dynamodb:Scan'], resource: { 'Fn::GetAtt': ['JobTokenTable', 'Arn'] } },
      { actions: ['sagemaker:DescribeHyperParameterTuningJob', 'sagemaker:DescribeProcessingJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:DescribeTransformJob'], resource: jobs },
      // Only the jobs of this stage's build runs: start-job tags each job with its run.
      {
        actions: ['sagemaker:StopHyperParameterTuningJob', 'sagemaker:StopProcessingJob', 'sagemaker:StopTrainingJob', 'sagemaker:StopTransformJob'],
        resource: jobs,
        condition: { StringLike: { 'aws:ResourceTag/sluice:execution': executions } },
      },
      { actions: ['events:PutEvents'], resource: { 'Fn::GetAtt': ['EventBus', 'Arn'] } },
      { actions: ['sqs:SendMessage'], resource: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } },
    ]);
  });

  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html: StopTrainingJob/StopProcessingJob take aws:ResourceTag.
  it('lets reconcile-jobs read a run\'s status and stop only jobs this stage\'s build runs tagged, as on-build-status-change does', () => {
    const statements = statementsOf(template.Resources.ReconcileJobsRole!);
    const executions = { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:sluice-dev-build-*:*' };
    const stop = statements.find((s) => actions(s).includes('sagemaker:StopTrainingJob'))!;

    expect(statements.find((s) => actions(s).includes('states:DescribeExecution'))!.Resource).toEqual(executions);
    expect(actions(stop).sort()).toEqual(['sagemaker:StopHyperParameterTuningJob', 'sagemaker:StopProcessingJob', 'sagemaker:StopTrainingJob', 'sagemaker:StopTransformJob']);
    expect(stop.Condition).toEqual({ StringLike: { 'aws:ResourceTag/sluice:execution': executions } });
  });

  it('gives no other function the build announcement table', () => {
    const users = roles().filter(([, role]) => JSON.stringify(statementsOf(role)).includes('BuildAnnouncementTable'));

    expect(users.map(([id]) => id)).toEqual(['OnBuildStatusChangeRole']);
  });

  it('lets the pipelines invoke only the four task functions and publish domain events', () => {
    const statements = statementsOf(template.Resources.PipelineStateMachineRole!);
    const invoke = statements.find((s) => actions(s).includes('lambda:InvokeFunction'))!;
    const publish = statements.find((s) => actions(s).includes('events:PutEvents'))!;

    expect(resources(invoke)).toEqual(
      ['SnapshotSourceLambdaFunction', 'StartJobLambdaFunction', 'EvaluateStepLambdaFunction', 'RegisterModelLambdaFunction'].map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
    );
    expect(publish.Resource).toEqual({ 'Fn::GetAtt': ['EventBus', 'Arn'] });
  });
});

describe('serverless package with stage parameters', () => {
  let custom: PackagedService;

  beforeAll(() => {
    custom = packageService('prod', {
      sagemakerRoleArn: 'arn:aws:iam::123456789012:role/team-sagemaker',
      artifactsBucket: 'team-ml-artifacts',
    });
  }, 240_000);

  afterAll(() => custom?.cleanup());

  it('uses the stage role and bucket instead of creating them', () => {
    const startJob = custom.template.Resources.StartJobLambdaFunction!.Properties as { Environment: { Variables: Record<string, unknown> } };
    const passRole = statementsOf(custom.template.Resources.StartJobRole!).find((s) => actions(s).includes('iam:PassRole'))!;

    expect(startJob.Environment.Variables.SAGEMAKER_ROLE_ARN).toBe('arn:aws:iam::123456789012:role/team-sagemaker');
    expect(startJob.Environment.Variables.ARTIFACTS_BUCKET).toBe('team-ml-artifacts');
    expect(resources(passRole)[0]).toBe('arn:aws:iam::123456789012:role/team-sagemaker');
    // A stage with its own role gets no repository roles.
    expect(Object.keys(custom.template.Resources).filter((id) => id.startsWith('JobRole'))).toEqual([]);
    expect(startJob.Environment.Variables.ROLE_REPOSITORIES).toBe('');
    expect(custom.template.Conditions).toMatchObject({ CreateArtifactsBucket: { 'Fn::Equals': ['team-ml-artifacts', ''] } });
  });
});

describe('the model deploy in the packaged template', () => {
  const rule = (suffix: string) => resourcesOfType(template, 'AWS::Events::Rule').find(([id]) => id.includes(suffix))![1];

  it('names the deploy state machine with model-deploy and wires its task functions', () => {
    const machine = template.Resources.ModelDeployStateMachine!;
    const definition = JSON.stringify(machine.Properties.DefinitionString);

    expect(machine.Properties.StateMachineName).toBe('sluice-dev-model-deploy');
    expect(definition).toContain('DeployEndpointLambdaFunction');
    expect(definition).toContain('DeploySuperseded');
  });

  it('starts deploys and rollbacks on approval changes of the stage own model package groups only', () => {
    expect(rule('onModelPackageChange').Properties.EventPattern).toEqual({
      source: ['aws.sagemaker'],
      'detail-type': ['SageMaker Model Package State Change'],
      detail: { ModelPackageGroupName: [{ prefix: 'sluice-dev--' }], ModelApprovalStatus: ['Approved', 'Rejected'] },
    });
  });

  it('resumes deploys on state changes of the stage own endpoints', () => {
    expect(rule('onEndpointStateChange').Properties.EventPattern).toEqual({
      source: ['aws.sagemaker'],
      'detail-type': ['SageMaker Endpoint State Change'],
      detail: { EndpointName: [{ prefix: 'sluice-dev--' }] },
    });
  });

  it('releases the prod gate on Model Promotion Approved from the service bus', () => {
    const promotion = rule('onPromotion');

    expect(promotion.Properties.EventBusName).toEqual({ 'Fn::GetAtt': ['EventBus', 'Name'] });
    expect(promotion.Properties.EventPattern).toEqual({ source: ['sluice'], 'detail-type': ['Model Promotion Approved'] });
  });

  it('keeps deployment records in an encrypted table with TTL', () => {
    const table = template.Resources.DeploymentTable!.Properties;

    expect(table.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(table.SSESpecification).toEqual({ SSEEnabled: true });
  });

  it('lets create-endpoint-config use only the stage allowed endpoint instance types', () => {
    const create = statementsOf(template.Resources.CreateEndpointConfigRole!).find((s) => actions(s).includes('sagemaker:CreateEndpointConfig'))!;

    expect(create.Condition).toEqual({ 'ForAllValues:StringEquals': { 'sagemaker:InstanceTypes': ['ml.t2.medium', 'ml.m5.large', 'ml.m5.xlarge', 'ml.c5.large', 'ml.c5.xlarge'] } });
  });

  it('lets only the deploy state machine invoke its task functions', () => {
    const invoke = statementsOf(template.Resources.ModelDeployStateMachineRole!).find((s) => actions(s).includes('lambda:InvokeFunction'))!;

    expect(resources(invoke)).toHaveLength(9);
    expect(JSON.stringify(resources(invoke))).not.toContain('OnModelPackageChange');
  });
});
