import type { SnsSubscriptionSpec, SnsTopicSpec } from '../cloudformation/template';
import type { ServiceContext } from '../context';
import { AwsServiceError } from '../http/aws-json';
import { mapParam, type QueryOperations, type QueryParams, requireParam, type XmlValue } from '../http/aws-query';
import { type DeliveredEmail, type Subscription, Topics } from './topics';

/**
 * SNS, locally: the Query API (form-encoded POST, XML answers; what `aws sns` and the SDK's SNSClient
 * speak) for the calls Sluice and its users make — CreateTopic, Subscribe, Unsubscribe, ListTopics,
 * ListSubscriptions, ListSubscriptionsByTopic, GetTopicAttributes, GetSubscriptionAttributes, Publish —
 * over the engine in topics.ts. The template's topics, topic policies and subscriptions exist from
 * boot. Not emulated: SNS authorization (topic policies are kept, not evaluated), FIFO ordering,
 * filter policies, delivery retries, tags, SMS/HTTP/Lambda/mobile protocols.
 */

/** The XML namespace of SNS's responses (botocore's sns model, `xmlNamespace`). */
export const SNS_NAMESPACE = 'http://sns.amazonaws.com/doc/2010-03-31/';
/** The SigV4 service name SNS requests are signed for. */
export const SNS_SIGNING_NAME = 'sns';
/** ListTopics / ListSubscriptions page size (SNS answers up to 100). */
const PAGE_SIZE = 100;

export interface SnsService {
  operations: QueryOperations;
  /** Publishes to a topic by ARN (EventBridge's SNS targets); resolves with the message id. */
  publish(topicArn: string, message: string, subject?: string): Promise<string>;
  /** The e-mails delivered for a topic (by name), oldest first. */
  deliveredEmails(topicName: string): DeliveredEmail[];
}

export interface SnsServiceOptions {
  topics: SnsTopicSpec[];
  subscriptions: SnsSubscriptionSpec[];
  /** Sends to a local SQS queue by ARN (SQS subscriptions). */
  sendToQueue(queueArn: string, body: string): Promise<void>;
  /** Writes a block to the runtime's output (delivered e-mails). */
  show(text: string): void;
}

/** Creates the service and the template's topics and subscriptions (idempotent across restarts). */
export function createSnsService(ctx: ServiceContext, options: SnsServiceOptions): SnsService {
  const topics = new Topics({ region: ctx.region, accountId: ctx.accountId, dataDir: ctx.dataDir, sendToQueue: options.sendToQueue, show: options.show });
  for (const spec of options.topics) topics.declareTopic(spec.name, spec.attributes, spec.policy);
  for (const subscription of topics.declareSubscriptions(options.subscriptions)) {
    if (subscription.protocol.startsWith('email')) {
      ctx.log('e-mail subscription confirmed locally (on AWS the address first gets a confirmation e-mail to accept)', { subscription: subscription.arn, endpoint: subscription.endpoint });
    }
  }

  const operations: QueryOperations = {
    CreateTopic: async (params) => ({ TopicArn: topics.createTopic(requireParam(params, 'Name'), mapParam(params, 'Attributes')).arn }),
    Subscribe: async (params) => {
      const protocol = requireParam(params, 'Protocol');
      const subscription = topics.subscribe(requireParam(params, 'TopicArn'), protocol, requireParam(params, 'Endpoint'), mapParam(params, 'Attributes'));
      if (protocol.startsWith('email')) ctx.log('e-mail subscription confirmed locally (on AWS it stays PendingConfirmation until the address accepts)', { subscription: subscription.arn });
      return { SubscriptionArn: subscription.arn };
    },
    Unsubscribe: async (params) => {
      topics.unsubscribe(requireParam(params, 'SubscriptionArn'));
      return undefined;
    },
    ListTopics: async (params) => {
      const { page, nextToken } = pageOf(topics.listTopics(), params);
      return { Topics: page.map((topic) => ({ TopicArn: topic.arn })), NextToken: nextToken };
    },
    ListSubscriptions: async (params) => {
      const { page, nextToken } = pageOf(topics.listSubscriptions(), params);
      return { Subscriptions: page.map(subscriptionXml), NextToken: nextToken };
    },
    ListSubscriptionsByTopic: async (params) => {
      const { page, nextToken } = pageOf(topics.listSubscriptions(requireParam(params, 'TopicArn')), params);
      return { Subscriptions: page.map(subscriptionXml), NextToken: nextToken };
    },
    GetTopicAttributes: async (params) => {
      const topic = topics.topic(requireParam(params, 'TopicArn'));
      const subscriptions = topics.listSubscriptions(topic.arn);
      const attributes = new Map<string, string>([
        ['TopicArn', topic.arn],
        ['Owner', ctx.accountId],
        ['DisplayName', ''],
        ['Policy', defaultPolicy(topic.arn, ctx.accountId)],
        ['SubscriptionsConfirmed', String(subscriptions.length)],
        ['SubscriptionsPending', '0'],
        ['SubscriptionsDeleted', '0'],
        ['EffectiveDeliveryPolicy', JSON.stringify({ http: { defaultHealthyRetryPolicy: { minDelayTarget: 20, maxDelayTarget: 20, numRetries: 3, numMaxDelayRetries: 0, numNoDelayRetries: 0, numMinDelayRetries: 0, backoffFunction: 'linear' }, disableSubscriptionOverrides: false } })],
        ...Object.entries(topic.attributes),
      ]);
      return { Attributes: attributes };
    },
    GetSubscriptionAttributes: async (params) => {
      const subscription = topics.subscription(requireParam(params, 'SubscriptionArn'));
      return {
        Attributes: new Map<string, string>([
          ['SubscriptionArn', subscription.arn],
          ['TopicArn', subscription.topicArn],
          ['Protocol', subscription.protocol],
          ['Endpoint', subscription.endpoint],
          ['Owner', subscription.owner],
          ['PendingConfirmation', 'false'],
          ['ConfirmationWasAuthenticated', 'true'],
          ...Object.entries(subscription.attributes),
        ]),
      };
    },
    Publish: async (params) => {
      const topicArn = params.get('TopicArn') || params.get('TargetArn');
      if (!topicArn) throw new AwsServiceError('InvalidParameter', 'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter (phone numbers are not delivered by the local runtime)');
      const message = requireParam(params, 'Message');
      const subject = params.get('Subject');
      if (subject !== undefined && (subject.length > 100 || /[\r\n]/.test(subject))) throw new AwsServiceError('InvalidParameter', 'Invalid parameter: Subject (at most 100 characters, no line breaks)');
      if (params.get('MessageStructure') === 'json') throw new AwsServiceError('InvalidParameter', 'Invalid parameter: MessageStructure json is not supported by the local runtime');
      const attributes = messageAttributes(params);
      return { MessageId: await topics.publish({ topicArn, message, subject, messageAttributes: attributes }) };
    },
  };

  return {
    operations,
    publish: (topicArn, message, subject) => topics.publish({ topicArn, message, subject }),
    deliveredEmails: (topicName) => topics.deliveredEmails(topicName),
  };
}

function subscriptionXml(subscription: Subscription): Record<string, XmlValue> {
  return { SubscriptionArn: subscription.arn, Owner: subscription.owner, Protocol: subscription.protocol, Endpoint: subscription.endpoint, TopicArn: subscription.topicArn };
}

/** `MessageAttributes.entry.<n>.Name` / `.Value.DataType` / `.Value.StringValue`; undefined when none. */
function messageAttributes(params: QueryParams): Record<string, { DataType: string; StringValue?: string }> | undefined {
  const names = mapParam(params, 'MessageAttributes', 'Name', 'Value.DataType');
  if (Object.keys(names).length === 0) return undefined;
  const values = mapParam(params, 'MessageAttributes', 'Name', 'Value.StringValue');
  return Object.fromEntries(
    Object.entries(names).map(([name, dataType]) => {
      if (dataType === '') throw new AwsServiceError('ParameterValueInvalid', `The message attribute '${name}' must contain non-empty message attribute type.`);
      return [name, { DataType: dataType, StringValue: values[name] }];
    }),
  );
}

/** The policy SNS gives a new topic: the owner account may use it. */
function defaultPolicy(topicArn: string, accountId: string): string {
  return JSON.stringify({
    Version: '2008-10-17',
    Id: '__default_policy_ID',
    Statement: [
      {
        Sid: '__default_statement_ID',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['SNS:GetTopicAttributes', 'SNS:SetTopicAttributes', 'SNS:AddPermission', 'SNS:RemovePermission', 'SNS:DeleteTopic', 'SNS:Subscribe', 'SNS:ListSubscriptionsByTopic', 'SNS:Publish'],
        Resource: topicArn,
        Condition: { StringEquals: { 'AWS:SourceOwner': accountId } },
      },
    ],
  });
}

/** ListTopics/ListSubscriptions paging: NextToken is the offset of the next item, set only when more remain. */
function pageOf<T>(items: T[], params: QueryParams): { page: T[]; nextToken?: string } {
  const token = params.get('NextToken');
  const offset = token === undefined || token === '' ? 0 : Number(token);
  if (!Number.isInteger(offset) || offset < 0) throw new AwsServiceError('InvalidParameter', 'Invalid parameter: NextToken');
  return { page: items.slice(offset, offset + PAGE_SIZE), nextToken: offset + PAGE_SIZE < items.length ? String(offset + PAGE_SIZE) : undefined };
}
