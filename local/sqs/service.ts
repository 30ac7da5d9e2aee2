import { createHash, randomUUID } from 'node:crypto';

import type { QueueSpec } from '../cloudformation/template';
import type { ServiceContext } from '../context';
import { AwsServiceError, type JsonOperations, requireString } from '../http/aws-json';
import { JsonStore } from '../store/json-store';

/**
 * SQS, locally, for the queues the template declares (the dead-letter queue): the JSON protocol
 * (X-Amz-Target AmazonSQS.<Op>) the SDK v3 client speaks. Messages are durable; visibility
 * timeouts are honoured for ReceiveMessage/DeleteMessage.
 */

interface StoredMessage {
  MessageId: string;
  Body: string;
  MD5OfBody: string;
  SentTimestamp: number;
  MessageAttributes?: Record<string, unknown>;
  invisibleUntil: number;
  receiveCount: number;
  receipt?: string;
}

export interface SqsService {
  operations: JsonOperations;
  /** Sends to a queue by ARN or URL (used for DLQs and Lambda destinations). */
  send(queueRef: string, body: string): Promise<string>;
  /** Messages currently in a queue (for status and tests). */
  peek(queueRef: string): { MessageId: string; Body: string }[];
}

export function createSqsService(ctx: ServiceContext, queues: QueueSpec[]): SqsService {
  const stores = new Map(queues.map((queue) => [queue.name, new JsonStore<StoredMessage>(`${ctx.dataDir}/${queue.name}`)]));
  const nameOf = (ref: string): string => {
    const name = ref.startsWith('arn:') ? ref.slice(ref.lastIndexOf(':') + 1) : ref.slice(ref.lastIndexOf('/') + 1);
    if (!stores.has(name)) throw new AwsServiceError('AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
    return name;
  };
  const storeOf = (ref: string) => stores.get(nameOf(ref))!;
  const urlOf = (name: string) => queues.find((queue) => queue.name === name)!.url;

  const send = async (ref: string, body: string, attributes?: Record<string, unknown>) => {
    const message: StoredMessage = {
      MessageId: randomUUID(),
      Body: body,
      MD5OfBody: createHash('md5').update(body).digest('hex'),
      SentTimestamp: Date.now(),
      MessageAttributes: attributes,
      invisibleUntil: 0,
      receiveCount: 0,
    };
    storeOf(ref).put(`${String(message.SentTimestamp).padStart(15, '0')}-${message.MessageId}`, message);
    return message.MessageId;
  };

  const operations: JsonOperations = {
    GetQueueUrl: async (input) => ({ QueueUrl: urlOf(nameOf(requireString(input, 'QueueName'))) }),
    ListQueues: async () => ({ QueueUrls: queues.map((queue) => queue.url) }),
    SendMessage: async (input) => {
      const body = requireString(input, 'MessageBody');
      const id = await send(requireString(input, 'QueueUrl'), body, input.MessageAttributes as Record<string, unknown> | undefined);
      return { MessageId: id, MD5OfMessageBody: createHash('md5').update(body).digest('hex') };
    },
    ReceiveMessage: async (input) => {
      const store = storeOf(requireString(input, 'QueueUrl'));
      const max = Math.min(Number(input.MaxNumberOfMessages ?? 1), 10);
      const visibility = Number(input.VisibilityTimeout ?? 30) * 1000;
      const now = Date.now();
      const messages = store
        .list()
        .filter(({ value }) => value.invisibleUntil <= now)
        .slice(0, max)
        .map(({ key, value }) => {
          const receipt = `${key}#${randomUUID()}`;
          store.put(key, { ...value, invisibleUntil: now + visibility, receiveCount: value.receiveCount + 1, receipt });
          return { MessageId: value.MessageId, ReceiptHandle: receipt, MD5OfBody: value.MD5OfBody, Body: value.Body, MessageAttributes: value.MessageAttributes };
        });
      return { Messages: messages };
    },
    DeleteMessage: async (input) => {
      const store = storeOf(requireString(input, 'QueueUrl'));
      const receipt = requireString(input, 'ReceiptHandle');
      const key = receipt.split('#')[0]!;
      if (store.get(key)?.receipt === receipt) store.delete(key);
      return {};
    },
    GetQueueAttributes: async (input) => {
      const name = nameOf(requireString(input, 'QueueUrl'));
      const spec = queues.find((queue) => queue.name === name)!;
      return { Attributes: { QueueArn: spec.arn, ApproximateNumberOfMessages: String(stores.get(name)!.list().length) } };
    },
    PurgeQueue: async (input) => {
      const store = storeOf(requireString(input, 'QueueUrl'));
      for (const { key } of store.list()) store.delete(key);
      return {};
    },
  };

  return {
    operations,
    send: (ref, body) => send(ref, body),
    peek: (ref) => storeOf(ref).list().map(({ value }) => ({ MessageId: value.MessageId, Body: value.Body })),
  };
}
