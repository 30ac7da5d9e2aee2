/**
 * The local EventBridge's delivery: at-least-once across restarts. An event accepted by PutEvents
 * waits in a durable outbox until its targets have it; a service over the same data directory
 * delivers what an earlier one accepted and never delivered.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { RuleSpec } from '../../../local/cloudformation/template';
import { createEventBridgeService, type EventBridgeService, type EventTargets } from '../../../local/eventbridge/service';
import { serviceContext } from '../../helpers/service-context';

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:builds';
const RULE: RuleSpec = { logicalId: 'Pushes', name: 'pushes', eventBusName: 'default', eventPattern: { source: ['sluice.test'] }, enabled: true, targets: [{ id: 'builds', arn: QUEUE_ARN }] };

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function service(dataDir: string, sendToQueue: EventTargets['sendToQueue']): EventBridgeService {
  return createEventBridgeService(serviceContext(dataDir), { rules: [RULE], eventBuses: ['default'], targets: { invokeLambdaAsync: () => undefined, sendToQueue, publishToTopic: async () => undefined } });
}

function putOne(events: EventBridgeService, source: string, n: number): Promise<unknown> {
  return events.operations.PutEvents!({ Entries: [{ Source: source, DetailType: 'Test', Detail: JSON.stringify({ n }) }] });
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('event delivery across restarts', () => {
  it('delivers after a restart, with the same event id, an event accepted by a process that died before delivering it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-events-'));
    dirs.push(dataDir);
    const dying = service(dataDir, () => new Promise<void>(() => undefined));
    void putOne(dying, 'sluice.test', 1);
    await until(() => dying.history().length === 1);
    const accepted = dying.history()[0]!;

    const delivered: string[] = [];
    const later = service(dataDir, async (_arn, body) => {
      delivered.push(body);
    });
    later.start();
    await until(() => delivered.length === 1);
    later.stop();

    expect(JSON.parse(delivered[0]!)).toMatchObject({ id: accepted.id, source: 'sluice.test', detail: { n: 1 } });
  });

  it('does not deliver again what was delivered, nor events that matched no rule, and delivers the rest in the order accepted', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-events-'));
    dirs.push(dataDir);
    const first: string[] = [];
    let hang = false;
    const earlier = service(dataDir, (_arn, body) => {
      if (hang) return new Promise<void>(() => undefined);
      first.push(body);
      return Promise.resolve();
    });
    await putOne(earlier, 'sluice.test', 1);
    await putOne(earlier, 'other.source', 2);
    hang = true;
    void putOne(earlier, 'sluice.test', 3);
    void putOne(earlier, 'sluice.test', 4);
    await until(() => earlier.history().length === 4);

    const delivered: number[] = [];
    const later = service(dataDir, async (_arn, body) => {
      delivered.push((JSON.parse(body) as { detail: { n: number } }).detail.n);
    });
    later.start();
    await until(() => delivered.length === 2);
    later.stop();

    expect(first.map((body) => (JSON.parse(body) as { detail: { n: number } }).detail.n)).toEqual([1]);
    expect(delivered).toEqual([3, 4]);
  });
});
