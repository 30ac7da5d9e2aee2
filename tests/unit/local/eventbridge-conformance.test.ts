/**
 * The local EventBridge against outside evidence: aws/event-ruler's own test suite (the matcher
 * EventBridge is built on) and real AWS/GitHub events, both copied into tests/fixtures/conformance/
 * (each folder's SOURCES.md says where every case came from).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { RuleSpec } from '../../../local/cloudformation/template';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, type ServiceContext } from '../../../local/context';
import { compilePattern, InvalidEventPatternError } from '../../../local/eventbridge/pattern';
import { createEventBridgeService } from '../../../local/eventbridge/service';
import { ROOT } from '../../helpers/fixtures';

const CONFORMANCE = join(ROOT, 'tests', 'fixtures', 'conformance');

interface RulerCase {
  source: string;
  pattern: unknown;
  event?: object;
  expected?: boolean;
  expectedInvalid?: boolean;
}

/** What the local matcher says for one case, in the case's own terms. */
function verdict(rulerCase: RulerCase): boolean | string {
  try {
    const matcher = compilePattern(rulerCase.pattern);
    return rulerCase.event === undefined ? false : matcher(rulerCase.event);
  } catch (error) {
    return error instanceof InvalidEventPatternError ? true : `threw ${String(error)}`;
  }
}

describe('event-ruler test suite (conformance/event-ruler/cases.json)', () => {
  const cases = JSON.parse(readFileSync(join(CONFORMANCE, 'event-ruler', 'cases.json'), 'utf8')) as RulerCase[];

  it('holds the 3,135 cases SOURCES.md describes', () => {
    expect(cases).toHaveLength(3135);
  });

  it.each([
    ['match cases: compilePattern(pattern)(event) equals expected', (c: RulerCase) => c.expected !== undefined],
    ['invalid/valid pattern cases: compilePattern throws InvalidEventPatternError exactly when expectedInvalid', (c: RulerCase) => c.expected === undefined],
  ])('agrees on all %s', (_name, select) => {
    const disagreements = cases
      .map((rulerCase, index) => ({ index, rulerCase }))
      .filter(({ rulerCase }) => select(rulerCase))
      .filter(({ rulerCase }) => verdict(rulerCase) !== (rulerCase.expected ?? rulerCase.expectedInvalid))
      .map(({ index, rulerCase }) => `#${index} ${rulerCase.source}: got ${String(verdict(rulerCase))}`);

    expect(disagreements).toEqual([]);
  });
});

describe('real AWS and GitHub events (conformance/aws-events) through PutEvents', () => {
  const folder = join(CONFORMANCE, 'aws-events');
  const samples = readdirSync(folder)
    .filter((file) => file.endsWith('.json'))
    .map((file) => ({ file, event: JSON.parse(readFileSync(join(folder, file), 'utf8')) as Record<string, unknown> }));
  const isEnvelope = (event: Record<string, unknown>): boolean => typeof event.source === 'string' && typeof event['detail-type'] === 'string';

  /** A PutEvents entry for the sample: its own envelope, or the whole payload as Detail. */
  const toEntry = ({ file, event }: (typeof samples)[number]): Record<string, unknown> =>
    isEnvelope(event)
      ? { Source: event.source, DetailType: event['detail-type'], Detail: JSON.stringify(event.detail), Resources: event.resources }
      : { Source: 'sluice.conformance', DetailType: file, Detail: JSON.stringify(event) };

  const queue = (name: string): string => `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`;
  const rule = (name: string, eventPattern: Record<string, unknown>): RuleSpec => ({
    logicalId: name,
    name,
    eventBusName: 'default',
    eventPattern,
    enabled: true,
    targets: [{ id: name, arn: queue(name) }],
  });

  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'sluice-eb-conformance-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  function createService(rules: RuleSpec[], delivered: Map<string, unknown[]>) {
    const ctx: ServiceContext = {
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT_ID,
      dataDir,
      endpoint: 'http://127.0.0.1:0',
      publishEvent: async () => undefined,
      log: () => undefined,
    };
    return createEventBridgeService(ctx, {
      rules,
      eventBuses: ['default'],
      targets: {
        invokeLambdaAsync: () => undefined,
        sendToQueue: async (arn, body) => {
          delivered.set(arn, [...(delivered.get(arn) ?? []), JSON.parse(body)]);
        },
        publishToTopic: async () => undefined,
      },
    });
  }

  it('holds the 48 samples SOURCES.md describes', () => {
    expect(samples).toHaveLength(48);
  });

  it.each(samples.map((sample) => [sample.file, sample] as const))('%s is accepted and delivered to the rules it matches', async (_file, sample) => {
    const delivered = new Map<string, unknown[]>();
    const entry = toEntry(sample);
    const service = createService(
      [
        rule('by-source-and-type', { source: [entry.Source], 'detail-type': [entry.DetailType] }),
        rule('every-event', { source: [{ prefix: '' }], detail: { 'no-such-field': [{ exists: false }] } }),
        rule('no-event', { source: [{ 'anything-but': { wildcard: '*' } }] }),
        rule('account-cidr-and-case', { account: [{ cidr: '10.0.0.5/24' }], region: [{ 'equals-ignore-case': 'US-EAST-1' }] }),
      ],
      delivered,
    );

    const output = await service.operations.PutEvents!({ Entries: [entry] });

    expect(output).toEqual({ FailedEntryCount: 0, Entries: [{ EventId: expect.any(String) }] });
    expect(delivered.get(queue('by-source-and-type'))).toHaveLength(1);
    expect(delivered.get(queue('every-event'))).toHaveLength(1);
    expect(delivered.has(queue('no-event'))).toBe(false);
    expect(delivered.has(queue('account-cidr-and-case'))).toBe(false);
  });

  it.each(samples.filter((sample) => isEnvelope(sample.event)).map((sample) => [sample.file, sample.event] as const))(
    '%s, as AWS delivered it, matches a pattern on its own source, detail-type and account',
    (_file, event) => {
      const matches = compilePattern({ source: [event.source], 'detail-type': [event['detail-type']], account: [event.account], detail: { [`absent-${Date.now()}`]: [{ exists: false }] } });

      expect(matches(event)).toBe(true);
    },
  );
});
