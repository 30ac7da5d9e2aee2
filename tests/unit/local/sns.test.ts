import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AwsServiceError } from '../../../local/http/aws-json';
import { isQueryRequestFor, listParam, mapParam, parseQuery, queryError, queryResponse, serveAwsQuery, toXml } from '../../../local/http/aws-query';
import { createSnsService, SNS_NAMESPACE, type SnsService } from '../../../local/sns/service';
import { DEFAULT_EMAIL_SUBJECT } from '../../../local/sns/topics';
import { serviceContext } from '../../helpers/service-context';

/**
 * SNS on the local runtime: the Query protocol as botocore and the SDK write it (form parameters,
 * `.entry.N.key/value` maps, `.member.N` lists; sns-2010-03-31 model) and the XML answers they parse
 * (`<Op>Response/<Op>Result`, `member` lists, `entry/key/value` maps, `ErrorResponse/Error/Code`), and
 * the engine behind it: idempotent topics and subscriptions, e-mails shown and kept in messages.jsonl.
 */

const TOPIC = 'sluice-local-notifications';
const TOPIC_ARN = `arn:aws:sns:us-east-1:123456789012:${TOPIC}`;

let dataDir: string;
let shown: string[];
let queued: { arn: string; body: string }[];

const params = (fields: Record<string, string>) => new Map(Object.entries(fields));

function service(options: Partial<Parameters<typeof createSnsService>[1]> = {}): SnsService {
  return createSnsService(serviceContext(dataDir), {
    topics: [{ logicalId: 'NotificationTopic', name: TOPIC, arn: TOPIC_ARN, attributes: { DisplayName: 'Sluice' }, policy: '{"Version":"2012-10-17","Statement":[]}' }],
    subscriptions: [{ logicalId: 'NotificationSubscription1', topicArn: TOPIC_ARN, protocol: 'email', endpoint: 'ml-team@example.com', attributes: {} }],
    sendToQueue: async (arn, body) => {
      queued.push({ arn, body });
    },
    show: (text) => shown.push(text),
    ...options,
  });
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-sns-'));
  shown = [];
  queued = [];
});

afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

describe('the Query protocol', () => {
  it('reads maps and lists as botocore serialises them (Attributes.entry.N.key / Tags.member.N.Key)', () => {
    const query = parseQuery('Action=CreateTopic&Version=2010-03-31&Name=t&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=My%20topic&Attributes.entry.2.key=KmsMasterKeyId&Attributes.entry.2.value=alias%2Faws%2Fsns&Tags.member.1.Key=team&Tags.member.1.Value=ml');

    expect(query.get('Action')).toBe('CreateTopic');
    expect(mapParam(query, 'Attributes')).toEqual({ DisplayName: 'My topic', KmsMasterKeyId: 'alias/aws/sns' });
    expect(listParam(query, 'Tags')).toEqual([{ Key: 'team', Value: 'ml' }]);
    expect(mapParam(query, 'Missing')).toEqual({});
  });

  it('refuses a map entry without its key, naming it', () => {
    expect(() => mapParam(parseQuery('Attributes.entry.1.value=x'), 'Attributes')).toThrow('Invalid parameter: Attributes.entry.1.key is required');
  });

  it('wraps a result as <Op>Response/<Op>Result with the request id, lists as member, maps as entry/key/value', () => {
    const xml = queryResponse('ListTopics', SNS_NAMESPACE, { Topics: [{ TopicArn: 'arn:a' }, { TopicArn: 'arn:b' }], NextToken: undefined }, 'req-1');

    expect(xml).toContain('<ListTopicsResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ListTopicsResult><Topics><member><TopicArn>arn:a</TopicArn></member><member><TopicArn>arn:b</TopicArn></member></Topics></ListTopicsResult>');
    expect(xml).toContain('<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></ListTopicsResponse>');
    expect(toXml({ Attributes: new Map([['Policy', '{"a":"<&>"}']]) })).toBe('<Attributes><entry><key>Policy</key><value>{&quot;a&quot;:&quot;&lt;&amp;&gt;&quot;}</value></entry></Attributes>');
  });

  it('answers an action without a result with the response element and its metadata only (Unsubscribe)', () => {
    expect(queryResponse('Unsubscribe', SNS_NAMESPACE, undefined, 'r')).toContain('<UnsubscribeResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></UnsubscribeResponse>');
  });

  it('writes errors as ErrorResponse/Error with Type Sender for 4xx and Receiver for 5xx', () => {
    expect(queryError(new AwsServiceError('NotFound', 'Topic does not exist', 404), SNS_NAMESPACE, 'r')).toContain(
      '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>',
    );
    expect(queryError(new AwsServiceError('InternalError', 'x', 500), SNS_NAMESPACE)).toContain('<Type>Receiver</Type>');
  });

  it('knows an SNS request by its form body and SigV4 scope, not an S3 or a JSON-protocol one', () => {
    const request = (method: string, contentType: string, scope: string) =>
      ({ method, headers: { 'content-type': contentType, authorization: `AWS4-HMAC-SHA256 Credential=local/20261204/us-east-1/${scope}/aws4_request, SignedHeaders=host, Signature=0` } }) as never;

    expect(isQueryRequestFor(request('POST', 'application/x-www-form-urlencoded; charset=utf-8', 'sns'), 'sns')).toBe(true);
    expect(isQueryRequestFor(request('POST', 'application/x-www-form-urlencoded', 's3'), 'sns')).toBe(false);
    expect(isQueryRequestFor(request('POST', 'application/x-amz-json-1.0', 'sns'), 'sns')).toBe(false);
    expect(isQueryRequestFor(request('GET', 'application/x-www-form-urlencoded', 'sns'), 'sns')).toBe(false);
  });

  it('serves an unknown action as InvalidAction and a service error with its status', async () => {
    const answers: { status: number; body: string }[] = [];
    const response = () => {
      const answer = { status: 0, body: '' };
      answers.push(answer);
      return { writeHead: (status: number) => (answer.status = status), end: (text: string) => (answer.body = text) } as unknown as ServerResponse;
    };
    const sns = service();

    await serveAwsQuery(response(), Buffer.from('Action=CreatePlatformApplication&Version=2010-03-31'), sns.operations, { namespace: SNS_NAMESPACE });
    await serveAwsQuery(response(), Buffer.from(`Action=GetTopicAttributes&TopicArn=${encodeURIComponent(`${TOPIC_ARN}-nope`)}`), sns.operations, { namespace: SNS_NAMESPACE });

    expect(answers[0]).toMatchObject({ status: 400, body: expect.stringContaining('<Code>InvalidAction</Code>') });
    expect(answers[1]).toMatchObject({ status: 404, body: expect.stringContaining('<Code>NotFound</Code>') });
  });
});

describe('topics and subscriptions', () => {
  it('creates the template topic and its e-mail subscription at boot, confirmed, and again on a restart without duplicates', async () => {
    service();
    const sns = service();

    const listed = await sns.operations.ListSubscriptionsByTopic!(params({ TopicArn: TOPIC_ARN }));
    expect(listed!.Subscriptions).toEqual([{ SubscriptionArn: expect.stringMatching(new RegExp(`^${TOPIC_ARN}:[0-9a-f-]{36}$`)), Owner: '123456789012', Protocol: 'email', Endpoint: 'ml-team@example.com', TopicArn: TOPIC_ARN }]);
    expect((await sns.operations.ListTopics!(params({})))!.Topics).toEqual([{ TopicArn: TOPIC_ARN }]);
  });

  it('follows the template on a restart: new attributes taken, a subscription it no longer declares removed, API-made ones kept', async () => {
    await service().operations.Subscribe!(params({ TopicArn: TOPIC_ARN, Protocol: 'email', Endpoint: 'by-hand@example.com' }));

    const sns = service({
      topics: [{ logicalId: 'NotificationTopic', name: TOPIC, arn: TOPIC_ARN, attributes: { DisplayName: 'Sluice (renamed)' } }],
      subscriptions: [{ logicalId: 'NotificationSubscription2', topicArn: TOPIC_ARN, protocol: 'email', endpoint: 'new-team@example.com', attributes: {} }],
    });

    const attributes = (await sns.operations.GetTopicAttributes!(params({ TopicArn: TOPIC_ARN })))!.Attributes as Map<string, string>;
    const endpoints = ((await sns.operations.ListSubscriptions!(params({})))!.Subscriptions as { Endpoint: string }[]).map((subscription) => subscription.Endpoint).sort();
    expect(attributes.get('DisplayName')).toBe('Sluice (renamed)');
    expect(endpoints).toEqual(['by-hand@example.com', 'new-team@example.com']);
  });

  it('answers CreateTopic with the existing ARN when the attributes agree, InvalidParameter when they differ', async () => {
    const sns = service();

    await expect(sns.operations.CreateTopic!(params({ Name: TOPIC, 'Attributes.entry.1.key': 'DisplayName', 'Attributes.entry.1.value': 'Sluice' }))).resolves.toEqual({ TopicArn: TOPIC_ARN });
    await expect(sns.operations.CreateTopic!(params({ Name: TOPIC, 'Attributes.entry.1.key': 'DisplayName', 'Attributes.entry.1.value': 'Other' }))).rejects.toThrow('Topic already exists with different attributes');
    await expect(sns.operations.CreateTopic!(params({ Name: 'has space' }))).rejects.toThrow('Invalid parameter: Topic Name');
  });

  it("reports a topic's attributes: the template's policy and display name, counts of confirmed subscriptions", async () => {
    const attributes = (await service().operations.GetTopicAttributes!(params({ TopicArn: TOPIC_ARN })))!.Attributes as Map<string, string>;

    expect(attributes.get('TopicArn')).toBe(TOPIC_ARN);
    expect(attributes.get('Policy')).toBe('{"Version":"2012-10-17","Statement":[]}');
    expect(attributes.get('DisplayName')).toBe('Sluice');
    expect(attributes.get('SubscriptionsConfirmed')).toBe('1');
    expect(attributes.get('SubscriptionsPending')).toBe('0');
  });

  it('subscribes idempotently and refuses a malformed address or an unsupported protocol, naming it', async () => {
    const sns = service();
    const subscribe = (protocol: string, endpoint: string) => sns.operations.Subscribe!(params({ TopicArn: TOPIC_ARN, Protocol: protocol, Endpoint: endpoint }));

    const first = await subscribe('email', 'oncall@example.com');
    await expect(subscribe('email', 'oncall@example.com')).resolves.toEqual(first);
    await expect(subscribe('email', 'not-an-address')).rejects.toThrow('Invalid parameter: Email address');
    await expect(subscribe('sms', '+15555550100')).rejects.toThrow('Protocol sms is not delivered by the local runtime');
    await expect(sns.operations.Subscribe!(params({ TopicArn: `${TOPIC_ARN}x`, Protocol: 'email', Endpoint: 'a@example.com' }))).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('unsubscribes, then answers NotFound for the same subscription', async () => {
    const sns = service();
    const { SubscriptionArn } = (await sns.operations.Subscribe!(params({ TopicArn: TOPIC_ARN, Protocol: 'email', Endpoint: 'x@example.com' }))) as { SubscriptionArn: string };

    await sns.operations.Unsubscribe!(params({ SubscriptionArn }));

    expect(((await sns.operations.ListSubscriptions!(params({})))!.Subscriptions as unknown[]).length).toBe(1);
    await expect(sns.operations.Unsubscribe!(params({ SubscriptionArn }))).rejects.toMatchObject({ code: 'NotFound' });
  });
});

describe('Publish', () => {
  it('delivers an e-mail to each e-mail subscription: shown in the output and kept in <topic>/messages.jsonl', async () => {
    const sns = service();

    const { MessageId } = (await sns.operations.Publish!(params({ TopicArn: TOPIC_ARN, Subject: 'Build failed', Message: 'Line one\nLine two' }))) as { MessageId: string };

    const lines = readFileSync(join(dataDir, TOPIC, 'messages.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
    expect(lines).toEqual([expect.objectContaining({ messageId: MessageId, to: 'ml-team@example.com', subject: 'Build failed', body: 'Line one\nLine two', protocol: 'email' })]);
    expect(sns.deliveredEmails(TOPIC)).toEqual(lines);
    expect(shown.join('\n')).toMatch(/To: +ml-team@example\.com\nSubject: Build failed\n\nLine one\nLine two/);
  });

  it("gives an e-mail SNS's default subject when Publish had none (as EventBridge's SNS targets publish)", async () => {
    const sns = service();

    await sns.publish(TOPIC_ARN, '"Model Build Failed"');

    expect(sns.deliveredEmails(TOPIC)[0]).toMatchObject({ subject: DEFAULT_EMAIL_SUBJECT, body: '"Model Build Failed"' });
  });

  it('sends an SQS subscription the notification envelope, with the message attributes', async () => {
    const sns = service();
    const queue = 'arn:aws:sqs:us-east-1:123456789012:inbox';
    await sns.operations.Subscribe!(params({ TopicArn: TOPIC_ARN, Protocol: 'sqs', Endpoint: queue }));

    await sns.operations.Publish!(params({ TopicArn: TOPIC_ARN, Message: 'hello', 'MessageAttributes.entry.1.Name': 'kind', 'MessageAttributes.entry.1.Value.DataType': 'String', 'MessageAttributes.entry.1.Value.StringValue': 'build' }));

    expect(queued).toHaveLength(1);
    expect(queued[0]!.arn).toBe(queue);
    expect(JSON.parse(queued[0]!.body)).toMatchObject({ Type: 'Notification', TopicArn: TOPIC_ARN, Message: 'hello', MessageAttributes: { kind: { Type: 'String', Value: 'build' } } });
  });

  it('refuses a publish without a topic or message, or with a multi-line subject, naming the field', async () => {
    const sns = service();

    await expect(sns.operations.Publish!(params({ Message: 'x' }))).rejects.toThrow(/TopicArn/);
    await expect(sns.operations.Publish!(params({ TopicArn: TOPIC_ARN }))).rejects.toThrow('Invalid parameter: Message is required');
    await expect(sns.operations.Publish!(params({ TopicArn: TOPIC_ARN, Message: 'x', Subject: 'a\nb' }))).rejects.toThrow(/Subject/);
    await expect(sns.operations.Publish!(params({ TopicArn: TOPIC_ARN, Message: 'x'.repeat(262_145) }))).rejects.toThrow('Message too long');
    expect(sns.deliveredEmails(TOPIC)).toEqual([]);
  });
});
