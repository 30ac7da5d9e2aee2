import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createRepository, EXAMPLE_DIR, pushDirectory, uploadDataset } from '../../local/seed';
import type { DeliveredEmail } from '../../local/sns/topics';
import { awsCliJson } from '../helpers/aws-cli';
import { eventually, type RuntimeProcess, startRuntime } from '../helpers/runtime-process';

/**
 * Issue 11 notifications on the local runtime: the local stage subscribes ml-team@example.com
 * (serverless.yml params.local.notificationEmails) to sluice-local-notifications; a failing build and a
 * registered model reach it as e-mails, written by the notification rule's input transformer, shown in
 * the runtime's output and kept in <data dir>/sns/<topic>/messages.jsonl; the AWS CLI's `aws sns`
 * lists the topic and the subscription and publishes through the runtime's SNS Query API.
 */

const TOPIC = 'sluice-local-notifications';
const TOPIC_ARN = `arn:aws:sns:us-east-1:123456789012:${TOPIC}`;
const ADDRESS = 'ml-team@example.com';
const IMAGE = 'notify.local/model:latest';

/** A build whose only step's job fails at once (the command exits 3). */
const FAILING_YAML = `Version: 2
Steps:
  crash:
    Type: Processing
    AppSpecification: { ImageUri: ${IMAGE} }
    ProcessingResources: { ClusterConfig: { InstanceType: ml.m5.large } }
Local:
  Images:
    ${IMAGE}:
      Command: [sh, -c, 'echo "failed on purpose by the notification test" >&2; exit 3']
`;

/** A build that trains a tiny "model" from a dataset and registers it. */
const REGISTERING_YAML = `Version: 2
Steps:
  train:
    Type: Training
    AlgorithmSpecification: { TrainingImage: ${IMAGE} }
    ResourceConfig: { InstanceType: ml.m5.large }
    Channels:
      train: { Dataset: notify-register/ }
  register:
    Type: RegisterModel
    ModelData: { From: train/model }
    ModelPackageGroupName: notify-register
    ModelApprovalStatus: PendingManualApproval
Local:
  Images:
    ${IMAGE}:
      Command: [sh, -c, 'echo weights > "$SM_MODEL_DIR/model.txt"']
`;

let dataDir: string;
let runtime: RuntimeProcess;

/** The e-mails the runtime's SNS delivered so far. */
function emails(): DeliveredEmail[] {
  const file = join(dataDir, 'sns', TOPIC, 'messages.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as DeliveredEmail);
}

const emailAbout = (what: string, repository: string) => () => emails().find((email) => email.body.includes(`: ${what} (`) && email.body.includes(`Repository: ${repository} `));

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-notify-'));
  runtime = await startRuntime({ dataDir });
}, 300_000);

afterAll(async () => {
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('notifications on the local runtime', () => {
  it("answers `aws sns list-topics` and `aws sns list-subscriptions` with the stage's topic and its confirmed e-mail subscription", async () => {
    const topics = await awsCliJson<{ Topics: { TopicArn: string }[] }>(runtime.endpoint, 'sns', 'list-topics');
    const subscriptions = await awsCliJson<{ Subscriptions: Record<string, string>[] }>(runtime.endpoint, 'sns', 'list-subscriptions');
    const attributes = await awsCliJson<{ Attributes: Record<string, string> }>(runtime.endpoint, 'sns', 'get-topic-attributes', '--topic-arn', TOPIC_ARN);

    expect(topics.Topics).toContainEqual({ TopicArn: TOPIC_ARN });
    expect(subscriptions.Subscriptions).toContainEqual({ SubscriptionArn: expect.stringMatching(new RegExp(`^${TOPIC_ARN}:`)), Owner: '123456789012', Protocol: 'email', Endpoint: ADDRESS, TopicArn: TOPIC_ARN });
    expect(attributes.Attributes).toMatchObject({ TopicArn: TOPIC_ARN, SubscriptionsConfirmed: '1', DisplayName: 'Sluice local' });
    expect(JSON.parse(attributes.Attributes.Policy!)).toMatchObject({ Statement: expect.arrayContaining([expect.objectContaining({ Sid: 'NotificationRulePublishes' })]) });
  }, 60_000);

  it('e-mails a failing build: what failed, where, and the retry command', async () => {
    await createRepository(runtime.endpoint, 'notify-fail');
    const commit = await pushDirectory(runtime.endpoint, 'notify-fail', EXAMPLE_DIR, { changes: { 'mlops.yaml': FAILING_YAML } });

    const email = await eventually(runtime, emailAbout('Model Build Failed', 'notify-fail'), 'the Model Build Failed e-mail', 90_000);

    expect(email).toMatchObject({ to: ADDRESS, subject: 'AWS Notification Message', topicArn: TOPIC_ARN, protocol: 'email' });
    expect(email.body).toContain(`"Repository: notify-fail  branch: main  commit: ${commit}"`);
    expect(email.body).toMatch(/"Step: crash {2}error: \S+"/);
    expect(email.body).toMatch(/"Cause: .*exit/i);
    expect(email.body).toMatch(/sluice retry arn:aws:states:us-east-1:123456789012:execution:\S+/);
    expect(runtime.output()).toContain(`To:      ${ADDRESS}`);
  }, 120_000);

  it('e-mails a registered model version with its model package ARN', async () => {
    const data = join(dataDir, 'rows.csv');
    writeFileSync(data, '1,2,3\n4,5,6\n');
    await uploadDataset(runtime.endpoint, 'notify-register', data);
    await createRepository(runtime.endpoint, 'notify-register');
    const commit = await pushDirectory(runtime.endpoint, 'notify-register', EXAMPLE_DIR, { changes: { 'mlops.yaml': REGISTERING_YAML } });

    const email = await eventually(runtime, emailAbout('Model Package Registered', 'notify-register'), 'the Model Package Registered e-mail', 180_000);

    expect(email.to).toBe(ADDRESS);
    expect(email.body).toContain(`commit: ${commit}`);
    expect(email.body).toMatch(/"Model package: arn:aws:sagemaker:us-east-1:123456789012:model-package\/\S+\/1 {2}version: {3}approval: PendingManualApproval"/);
    expect(emails().filter((sent) => sent.body.includes('Repository: notify-register '))).toHaveLength(1);
  }, 240_000);

  it('delivers what `aws sns publish` sends to a subscription made with `aws sns subscribe`', async () => {
    const { SubscriptionArn } = await awsCliJson<{ SubscriptionArn: string }>(runtime.endpoint, 'sns', 'subscribe', '--topic-arn', TOPIC_ARN, '--protocol', 'email', '--notification-endpoint', 'oncall@example.com');
    const { MessageId } = await awsCliJson<{ MessageId: string }>(runtime.endpoint, 'sns', 'publish', '--topic-arn', TOPIC_ARN, '--subject', 'Drill', '--message', 'This is a drill.');

    const sent = emails().filter((email) => email.messageId === MessageId);
    expect(sent.map((email) => email.to).sort()).toEqual([ADDRESS, 'oncall@example.com']);
    expect(sent[0]).toMatchObject({ subject: 'Drill', body: 'This is a drill.' });

    await awsCliJson(runtime.endpoint, 'sns', 'unsubscribe', '--subscription-arn', SubscriptionArn);
    const left = await awsCliJson<{ Subscriptions: { Endpoint: string }[] }>(runtime.endpoint, 'sns', 'list-subscriptions-by-topic', '--topic-arn', TOPIC_ARN);
    expect(left.Subscriptions.map((subscription) => subscription.Endpoint)).toEqual([ADDRESS]);
  }, 60_000);

  it('answers an unknown topic with NotFound, as SNS does', async () => {
    await expect(awsCliJson(runtime.endpoint, 'sns', 'get-topic-attributes', '--topic-arn', `${TOPIC_ARN}-nope`)).rejects.toThrow(/NotFound/);
  }, 30_000);
});
