import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { AwsServiceError } from '../http/aws-json';
import { JsonStore } from '../store/json-store';

/**
 * SNS's engine, locally: topics and subscriptions (durable), and delivery of what is published.
 * E-mail subscriptions are confirmed at once (on AWS the address first gets a confirmation e-mail and
 * the subscription stays PendingConfirmation until its link is followed): there is nobody to click it.
 * Every e-mail delivered is written to the runtime's output (to, subject, body) and appended to
 * `<dataDir>/<topic>/messages.jsonl`, where tests and users read them. SQS subscriptions receive the
 * SNS notification envelope (or the raw message with RawMessageDelivery). Other protocols are refused
 * at Subscribe.
 */

export interface Topic {
  arn: string;
  name: string;
  attributes: Record<string, string>;
  createdAt: string;
}

export interface Subscription {
  arn: string;
  topicArn: string;
  protocol: string;
  endpoint: string;
  owner: string;
  attributes: Record<string, string>;
  /** The template resource that declares it (logical id); absent for subscriptions made through the API. */
  declaredBy?: string;
}

/** One e-mail as delivered (a line of messages.jsonl). */
export interface DeliveredEmail {
  messageId: string;
  topicArn: string;
  subscriptionArn: string;
  protocol: 'email' | 'email-json';
  to: string;
  subject: string;
  body: string;
  timestamp: string;
}

export interface PublishInput {
  topicArn: string;
  message: string;
  subject?: string;
  messageAttributes?: Record<string, { DataType: string; StringValue?: string }>;
}

export interface TopicsOptions {
  region: string;
  accountId: string;
  dataDir: string;
  /** Sends a message body to a local SQS queue by ARN (SQS subscriptions). */
  sendToQueue(queueArn: string, body: string): Promise<void>;
  /** Writes one (multi-line) block to the runtime's output. */
  show(text: string): void;
}

/** Protocols the local runtime delivers to. */
export const LOCAL_PROTOCOLS = ['email', 'email-json', 'sqs'] as const;
/** The subject SNS gives an e-mail when Publish had none. */
export const DEFAULT_EMAIL_SUBJECT = 'AWS Notification Message';
/** Topic names: 1–256 letters, digits, `-` and `_` (`.fifo` suffix for FIFO topics). */
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
/** A plausible e-mail address (SNS checks the shape, not the mailbox). */
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
/** SNS's largest message (256 KiB). */
const MAX_MESSAGE_BYTES = 262_144;
/** SNS's answer for an unknown topic ARN. */
const NOT_FOUND = () => new AwsServiceError('NotFound', 'Topic does not exist', 404);

export class Topics {
  private readonly topics: JsonStore<Topic>;
  private readonly subscriptions: JsonStore<Subscription>;

  constructor(private readonly options: TopicsOptions) {
    this.topics = new JsonStore(join(options.dataDir, 'topics'));
    this.subscriptions = new JsonStore(join(options.dataDir, 'subscriptions'));
  }

  /** The ARN a topic of this name has in the runtime's account and region. */
  topicArn(name: string): string {
    return `arn:aws:sns:${this.options.region}:${this.options.accountId}:${name}`;
  }

  /**
   * Creates a topic, or answers the existing one when its attributes agree (idempotent, as SNS is);
   * InvalidParameter for a bad name or an existing topic with other attributes.
   */
  createTopic(name: string, attributes: Record<string, string> = {}): Topic {
    if (!TOPIC_NAME.test(name)) throw new AwsServiceError('InvalidParameter', 'Invalid parameter: Topic Name');
    const existing = this.topics.get(name);
    if (existing) {
      const differs = Object.entries(attributes).some(([key, value]) => existing.attributes[key] !== value);
      if (differs) throw new AwsServiceError('InvalidParameter', 'Invalid parameter: Attributes Reason: Topic already exists with different attributes');
      return existing;
    }
    const topic: Topic = { arn: this.topicArn(name), name, attributes: { ...attributes }, createdAt: new Date().toISOString() };
    this.topics.put(name, topic);
    return topic;
  }

  /**
   * The template's topic, as a stack update leaves it: created when absent, its attributes replaced by
   * the template's when present (a changed DisplayName is not an error here, unlike CreateTopic). Idempotent.
   */
  declareTopic(name: string, attributes: Record<string, string>, policy?: string): Topic {
    const existing = this.topics.get(name);
    const topic = existing ?? this.createTopic(name);
    const declared: Topic = { ...topic, attributes: { ...attributes, ...(policy === undefined ? {} : { Policy: policy }) } };
    this.topics.put(name, declared);
    return declared;
  }

  /**
   * The template's subscriptions, as a stack update leaves them: each declared one exists (created when
   * absent), and one an earlier template declared that this one no longer does is removed. Subscriptions
   * made through the API are left alone. Idempotent.
   */
  declareSubscriptions(declared: { logicalId: string; topicArn: string; protocol: string; endpoint: string; attributes: Record<string, string> }[]): Subscription[] {
    const keep = new Set(declared.map((spec) => spec.logicalId));
    for (const { key, value } of this.subscriptions.list()) {
      if (value.declaredBy !== undefined && !keep.has(value.declaredBy)) this.subscriptions.delete(key);
    }
    return declared.map((spec) => {
      const subscription = this.subscribe(spec.topicArn, spec.protocol, spec.endpoint, spec.attributes);
      if (subscription.declaredBy === spec.logicalId) return subscription;
      const marked = { ...subscription, declaredBy: spec.logicalId };
      this.subscriptions.put(subscription.arn.slice(subscription.arn.lastIndexOf(':') + 1), marked);
      return marked;
    });
  }

  /** The topic with this ARN; NotFound when there is none. */
  topic(topicArn: string): Topic {
    const name = topicArn.startsWith(`arn:aws:sns:${this.options.region}:${this.options.accountId}:`) ? topicArn.slice(topicArn.lastIndexOf(':') + 1) : undefined;
    const topic = name && TOPIC_NAME.test(name) ? this.topics.get(name) : undefined;
    if (!topic) throw NOT_FOUND();
    return topic;
  }

  /** Every topic, in name order. */
  listTopics(): Topic[] {
    return this.topics.list().map(({ value }) => value);
  }

  /** Every subscription, or the topic's (NotFound when the topic does not exist). */
  listSubscriptions(topicArn?: string): Subscription[] {
    if (topicArn !== undefined) this.topic(topicArn);
    return this.subscriptions
      .list()
      .map(({ value }) => value)
      .filter((subscription) => topicArn === undefined || subscription.topicArn === topicArn);
  }

  /**
   * Subscribes an endpoint to a topic; the same topic, protocol and endpoint answer the existing
   * subscription (idempotent, as SNS is). InvalidParameter naming the field for an unsupported
   * protocol or a malformed endpoint; NotFound for an unknown topic.
   */
  subscribe(topicArn: string, protocol: string, endpoint: string, attributes: Record<string, string> = {}): Subscription {
    this.topic(topicArn);
    if (!(LOCAL_PROTOCOLS as readonly string[]).includes(protocol)) {
      throw new AwsServiceError('InvalidParameter', `Invalid parameter: Protocol ${protocol} is not delivered by the local runtime (it delivers ${LOCAL_PROTOCOLS.join(', ')})`);
    }
    if (protocol.startsWith('email') && !EMAIL.test(endpoint)) throw new AwsServiceError('InvalidParameter', 'Invalid parameter: Email address');
    if (protocol === 'sqs' && !/^arn:aws:sqs:[^:]+:\d{12}:.+$/.test(endpoint)) throw new AwsServiceError('InvalidParameter', 'Invalid parameter: SQS endpoint ARN');
    const existing = this.listSubscriptions(topicArn).find((subscription) => subscription.protocol === protocol && subscription.endpoint === endpoint);
    if (existing) return existing;
    const id = randomUUID();
    const subscription: Subscription = { arn: `${topicArn}:${id}`, topicArn, protocol, endpoint, owner: this.options.accountId, attributes: { ...attributes } };
    this.subscriptions.put(id, subscription);
    return subscription;
  }

  /** Removes a subscription; NotFound when there is none with this ARN. */
  unsubscribe(subscriptionArn: string): void {
    const id = subscriptionArn.slice(subscriptionArn.lastIndexOf(':') + 1);
    const found = /^[0-9a-f-]{36}$/.test(id) ? this.subscriptions.get(id) : undefined;
    if (!found || found.arn !== subscriptionArn) throw new AwsServiceError('NotFound', 'Subscription does not exist', 404);
    this.subscriptions.delete(id);
  }

  /** The subscription with this ARN; NotFound when there is none. */
  subscription(subscriptionArn: string): Subscription {
    const found = this.listSubscriptions().find((subscription) => subscription.arn === subscriptionArn);
    if (!found) throw new AwsServiceError('NotFound', 'Subscription does not exist', 404);
    return found;
  }

  /**
   * Publishes a message to every subscription of the topic and returns its message id. At least
   * once, as SNS: a repeated Publish delivers again. A delivery that fails is logged and does not stop
   * the others (SNS retries per its delivery policy; locally the failure is shown).
   */
  async publish(input: PublishInput): Promise<string> {
    const topic = this.topic(input.topicArn);
    if (Buffer.byteLength(input.message) > MAX_MESSAGE_BYTES) throw new AwsServiceError('InvalidParameter', 'Invalid parameter: Message too long (at most 262144 bytes)');
    const messageId = randomUUID();
    const timestamp = new Date().toISOString();
    const subscriptions = this.listSubscriptions(topic.arn);
    if (subscriptions.length === 0) this.options.show(`[sns] ${topic.name}: message ${messageId} published; the topic has no subscriptions`);
    for (const subscription of subscriptions) {
      const envelope = {
        Type: 'Notification',
        MessageId: messageId,
        TopicArn: topic.arn,
        ...(input.subject === undefined ? {} : { Subject: input.subject }),
        Message: input.message,
        Timestamp: timestamp,
        SignatureVersion: '1',
        UnsubscribeURL: `https://sns.${this.options.region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${subscription.arn}`,
        ...(input.messageAttributes ? { MessageAttributes: Object.fromEntries(Object.entries(input.messageAttributes).map(([name, value]) => [name, { Type: value.DataType, Value: value.StringValue }])) } : {}),
      };
      try {
        if (subscription.protocol === 'sqs') {
          await this.options.sendToQueue(subscription.endpoint, subscription.attributes.RawMessageDelivery === 'true' ? input.message : JSON.stringify(envelope));
        } else {
          this.deliverEmail(topic, {
            messageId,
            topicArn: topic.arn,
            subscriptionArn: subscription.arn,
            protocol: subscription.protocol as DeliveredEmail['protocol'],
            to: subscription.endpoint,
            subject: input.subject ?? DEFAULT_EMAIL_SUBJECT,
            body: subscription.protocol === 'email-json' ? JSON.stringify(envelope) : input.message,
            timestamp,
          });
        }
      } catch (error) {
        this.options.show(`[sns] ${topic.name}: delivery of ${messageId} to ${subscription.protocol}:${subscription.endpoint} failed: ${String(error)}`);
      }
    }
    return messageId;
  }

  /** The e-mails delivered for a topic so far, oldest first (from messages.jsonl). */
  deliveredEmails(topicName: string): DeliveredEmail[] {
    const file = this.outbox(topicName);
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as DeliveredEmail);
  }

  private outbox(topicName: string): string {
    return join(this.options.dataDir, topicName, 'messages.jsonl');
  }

  private deliverEmail(topic: Topic, email: DeliveredEmail): void {
    mkdirSync(join(this.options.dataDir, topic.name), { recursive: true });
    appendFileSync(this.outbox(topic.name), `${JSON.stringify(email)}\n`);
    const rule = '-'.repeat(72);
    this.options.show(
      [`[sns] e-mail (${topic.name}, message ${email.messageId})`, rule, `To:      ${email.to}`, `Subject: ${email.subject}`, '', email.body, rule].join('\n'),
    );
  }
}
