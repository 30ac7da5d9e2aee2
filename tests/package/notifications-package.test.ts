/**
 * Notifications on the packaged template (a stage with notificationEmails set): the topic, its policy,
 * the rule and its input transformer, one e-mail subscription per address. The transformer is run (with
 * the local runtime's implementation of EventBridge's rules) on each of the four events as Sluice
 * publishes them, so the text is checked, not only the shape.
 */
import { transformInput } from '../../local/eventbridge/input-transformer';
import { NO_VERSION_LEFT } from '../../shared/deploy/package-change';
import { DETAIL_TYPES, EVENT_SOURCES } from '../../shared/schemas/events';
import { packageService, type PackagedService, resourcesOfType } from '../helpers/package';

let packaged: PackagedService;
let template: PackagedService['template'];

beforeAll(() => {
  // The second and third addresses are one address: one subscription.
  packaged = packageService('dev', { notificationEmails: 'ml-team@example.com,Oncall@Example.com,oncall@example.com' });
  template = packaged.template;
}, 240_000);

afterAll(() => packaged?.cleanup());

const NOTIFIED = [DETAIL_TYPES.modelBuildFailed, DETAIL_TYPES.modelPackageRegistered, DETAIL_TYPES.modelDeployed, DETAIL_TYPES.modelDeployFailed];
const resource = (logicalId: string) => template.Resources[logicalId]!;
const target = () => (resource('NotificationRule').Properties.Targets as Record<string, unknown>[])[0]!;
const transformer = () => target().InputTransformer as { InputPathsMap: Record<string, string>; InputTemplate: string };

/** The e-mail text for an event of `detailType` with `detail`, as EventBridge would write it. */
const email = (detailType: string, detail: Record<string, unknown>) =>
  transformInput(
    transformer(),
    { version: '0', id: 'e1', 'detail-type': detailType, source: 'sluice', account: '123456789012', time: '2026-12-04T16:00:00Z', region: 'us-east-1', resources: [], detail },
    { ruleArn: 'arn:aws:events:us-east-1:123456789012:rule/sluice-dev/sluice-dev-notifications', ruleName: 'sluice-dev-notifications' },
  );

const RUN = 'arn:aws:states:us-east-1:123456789012:execution:sluice-dev-build-abalone-1a2b3c4d:abalone-0123456789abcdef0123456789abcdef01234567-a1b2c3';
const PACKAGE = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/sluice-dev--abalone/3';

describe('the notification topic', () => {
  it('is named <service>-<stage>-notifications and is an output for the CLI', () => {
    expect(resource('NotificationTopic')).toMatchObject({ Type: 'AWS::SNS::Topic', Properties: { TopicName: 'sluice-dev-notifications' } });
    expect(template.Outputs?.NotificationTopicArn).toEqual({ Value: { Ref: 'NotificationTopic' } });
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions
  it("lets only this stage's notification rule publish (aws:SourceArn), and nobody without TLS", () => {
    const policy = resource('NotificationTopicPolicy').Properties;
    const statements = (policy.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;

    expect(policy.Topics).toEqual([{ Ref: 'NotificationTopic' }]);
    expect(statements).toContainEqual({
      Sid: 'NotificationRulePublishes',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: { Ref: 'NotificationTopic' },
      Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['NotificationRule', 'Arn'] } } },
    });
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Principal: '*', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    expect(statements.filter((statement) => statement.Effect === 'Allow')).toHaveLength(1);
  });
});

describe('the notification rule', () => {
  it("matches the four events people act on, from Sluice, on the stage's bus", () => {
    const rule = resource('NotificationRule').Properties;

    expect(rule.EventBusName).toEqual({ Ref: 'EventBus' });
    expect(rule.EventPattern).toEqual({ source: [EVENT_SOURCES.sluice], 'detail-type': NOTIFIED });
    expect(rule.State).toBe('ENABLED');
  });

  it('targets the topic, with retries and the dead-letter queue', () => {
    expect(target()).toMatchObject({ Arn: { Ref: 'NotificationTopic' }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } }, RetryPolicy: { MaximumRetryAttempts: 20 } });
  });

  it('declares every placeholder of its template in InputPathsMap, as dot-notation paths into the event', () => {
    const { InputPathsMap: paths, InputTemplate: text } = transformer();
    const placeholders = [...text.matchAll(/<([^<>\s]+)>/g)].map((match) => match[1]!);

    expect(placeholders.length).toBeGreaterThan(5);
    for (const name of placeholders) expect(Object.keys(paths)).toContain(name);
    for (const path of Object.values(paths)) expect(path).toMatch(/^\$\.[\w-]+(\.[\w-]+)*$/);
  });

  it('writes a failed build as text naming the repository, commit, failed step, error, cause and what to run next', () => {
    const text = email(DETAIL_TYPES.modelBuildFailed, {
      repository: 'abalone',
      branch: 'main',
      commit: '0123456789abcdef0123456789abcdef01234567',
      executionArn: RUN,
      step: 'QualityGate',
      status: 'FAILED',
      error: 'QualityGateFailed',
      cause: 'mse 5.2 is above the threshold 4',
      redriveCount: 0,
    });

    expect(text).toContain('"Sluice dev: Model Build Failed (2026-12-04T16:00:00Z)"');
    expect(text).toContain('"Repository: abalone  branch: main  commit: 0123456789abcdef0123456789abcdef01234567"');
    expect(text).toContain('"Step: QualityGate  error: QualityGateFailed"');
    expect(text).toContain('"Cause: mse 5.2 is above the threshold 4"');
    expect(text).toContain(`sluice retry ${RUN}`);
  });

  it('writes a registered version with its model package and approval status', () => {
    const text = email(DETAIL_TYPES.modelPackageRegistered, {
      repository: 'abalone',
      branch: 'main',
      commit: '0123456789abcdef0123456789abcdef01234567',
      executionArn: RUN,
      step: 'Register',
      modelPackageArn: PACKAGE,
      modelPackageGroupName: 'sluice-dev--abalone',
      modelApprovalStatus: 'PendingManualApproval',
    });

    expect(text).toContain(`"Model package: ${PACKAGE}  version:   approval: PendingManualApproval"`);
    expect(text).toContain(`sluice lineage ${PACKAGE}`);
  });

  it('writes a deploy with the endpoint, its stage and the version it serves', () => {
    const text = email(DETAIL_TYPES.modelDeployed, { stage: 'prod', endpointName: 'sluice-dev--abalone-prod', modelPackageArn: PACKAGE, version: 3, repository: 'abalone', commit: 'c0ffee', executionArn: RUN });

    expect(text).toContain('"Sluice dev: Model Deployed');
    expect(text).toContain('"Endpoint: sluice-dev--abalone-prod  stage: prod"');
    expect(text).toContain('version: 3');
  });

  it('writes a failed deploy with its step and error, or the reason when no version was left to roll back to', () => {
    expect(email(DETAIL_TYPES.modelDeployFailed, { modelPackageArn: PACKAGE, executionArn: RUN, step: 'Prod', error: 'States.TaskFailed', cause: 'smoke test failed' })).toContain('"Step: Prod  error: States.TaskFailed"');
    expect(email(DETAIL_TYPES.modelDeployFailed, { modelPackageArn: PACKAGE, reason: NO_VERSION_LEFT, stages: ['prod'] })).toContain(`"Cause: ${NO_VERSION_LEFT}"`);
  });
});

describe('the e-mail subscriptions', () => {
  it('subscribe each notificationEmails address once (any case), protocol email, to the topic', () => {
    const subscriptions = resourcesOfType(template, 'AWS::SNS::Subscription').map(([, subscription]) => subscription.Properties);

    expect(subscriptions).toEqual([
      { TopicArn: { Ref: 'NotificationTopic' }, Protocol: 'email', Endpoint: 'ml-team@example.com' },
      { TopicArn: { Ref: 'NotificationTopic' }, Protocol: 'email', Endpoint: 'Oncall@Example.com' },
    ]);
  });
});
