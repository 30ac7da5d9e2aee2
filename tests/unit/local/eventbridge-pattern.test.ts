/**
 * The local EventBridge's pattern matcher. Cases come from AWS's documentation (URLs per describe),
 * event-ruler's README (the matcher behind EventBridge), and TestEventPattern results recorded
 * against AWS (localstack's event_pattern_templates, noted "AWS-verified").
 */
import {
  compilePattern,
  InvalidEventPatternError,
  matchesPattern,
  validatePattern,
} from '../../../local/eventbridge/pattern';
import { loadSample } from '../../helpers/fixtures';

/** Wraps `detail` in a minimal event envelope. */
function withDetail(detail: Record<string, unknown>): Record<string, unknown> {
  return { source: 'test-source', 'detail-type': 'test-detail-type', detail };
}

/** Whether `{"detail": {"x": [condition]}}` matches an event whose `detail.x` is `value`. */
function leafMatches(condition: unknown, value: unknown): boolean {
  return matchesPattern({ detail: { x: [condition] } }, withDetail({ x: value }));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
const EC2_EVENT = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

// The sample event of event-ruler's README, which its complex example matches.
const RULER_EVENT = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
const AUTOSCALING_EVENT = {
  version: '0',
  id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  account: '123456789012',
  time: '2015-11-11T21:31:47Z',
  region: 'us-east-1',
  resources: [],
  detail: { eventVersion: '', responseElements: null },
};

describe('exact matching (eb-event-patterns.html)', () => {
  it('matches the EC2 termination pattern against the EC2 state-change event', () => {
    const pattern = { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['terminated'] } };

    expect(matchesPattern(pattern, EC2_EVENT)).toBe(true);
  });

  it('does not match when one field differs', () => {
    expect(matchesPattern({ source: ['aws.ec2'], detail: { state: ['running'] } }, EC2_EVENT)).toBe(false);
  });

  it('matches on account and region', () => {
    expect(matchesPattern({ account: ['111122223333'], region: ['us-west-1'] }, EC2_EVENT)).toBe(true);
  });

  it('treats the values of a field as OR', () => {
    expect(matchesPattern({ source: ['aws.fargate', 'aws.ec2'] }, EC2_EVENT)).toBe(true);
  });

  it('compares strings character by character, without case folding', () => {
    expect(matchesPattern({ source: ['AWS.EC2'] }, EC2_EVENT)).toBe(false);
  });

  it('matches nested numbers such as the Macie risk score and trigger risk', () => {
    const event = { source: 'aws.macie', 'detail-type': 'Macie Alert', detail: { 'risk-score': 80, trigger: { risk: 8 } } };
    const pattern = { source: ['aws.macie'], 'detail-type': ['Macie Alert'], detail: { 'risk-score': [80], trigger: { risk: [8] } } };

    expect(matchesPattern(pattern, event)).toBe(true);
  });

  it.each([
    ['the string "80" against the number 80', '80', 80],
    ['the number 80 against the string "80"', 80, '80'],
    ['true against the string "true"', true, 'true'],
    ['null against the string "null"', null, 'null'],
  ])('does not match %s (JSON types differ)', (_, patternValue, eventValue) => {
    expect(leafMatches(patternValue, eventValue)).toBe(false);
  });

  it.each([
    [true, true],
    [false, false],
  ])('matches the boolean %s', (patternValue, eventValue) => {
    expect(leafMatches(patternValue, eventValue)).toBe(true);
  });

  // The docs say 300 and 300.0 differ, but AWS's TestEventPattern matches them (AWS-verified), and a
  // parsed event cannot tell them apart anyway.
  it('matches a number by value (300 matches 300.0)', () => {
    expect(matchesPattern({ number: [300] }, JSON.parse('{"number": 300.0}') as object)).toBe(true);
  });

  it('matches an IP address pattern value against another spelling of the same address', () => {
    expect(leafMatches('2001:db8::1', '2001:0db8:0:0:0:0:0:1')).toBe(true);
  });
});

describe('missing fields and structure (eb-create-pattern.html)', () => {
  it('never matches a pattern field that is absent from the event', () => {
    expect(matchesPattern({ detail: { 'c-count': [5] } }, EC2_EVENT)).toBe(false);
  });

  it('ignores event fields the pattern does not name', () => {
    expect(matchesPattern({ detail: { state: ['terminated'] } }, EC2_EVENT)).toBe(true);
  });

  it('does not match a pattern object against an event leaf', () => {
    expect(matchesPattern({ detail: { state: { name: ['terminated'] } } }, EC2_EVENT)).toBe(false);
  });

  it('does not match a pattern leaf against an event object', () => {
    expect(matchesPattern({ detail: ['terminated'] }, EC2_EVENT)).toBe(false);
  });

  it('does not look inside a JSON string (detail given as text)', () => {
    expect(matchesPattern({ detail: { 'my-key': ['my-value'] } }, { detail: '{"my-key": "my-value"}' })).toBe(false);
  });

  it('treats field names case-sensitively', () => {
    expect(matchesPattern({ Source: ['aws.ec2'] }, EC2_EVENT)).toBe(false);
  });

  it('matches a dotted pattern key against nested event objects', () => {
    expect(matchesPattern({ detail: { 'state.status': ['running'] } }, withDetail({ state: { status: 'running' } }))).toBe(true);
  });

  it('matches nested pattern objects against a dotted event key', () => {
    expect(matchesPattern({ detail: { state: { status: ['running'] } } }, withDetail({ 'state.status': 'running' }))).toBe(true);
  });
});

describe('arrays (eb-event-patterns-arrays.html)', () => {
  it('matches when the pattern array and the event array intersect', () => {
    const pattern = {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    };
    const event = {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    };

    expect(matchesPattern(pattern, event)).toBe(true);
  });

  it('does not match when no element of the event array is allowed', () => {
    expect(matchesPattern({ resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-other'] }, EC2_EVENT)).toBe(false);
  });

  it('does not match [null] against an empty event array (AWS-verified)', () => {
    expect(matchesPattern({ resources: [null] }, AUTOSCALING_EVENT)).toBe(false);
  });

  const employees = {
    employees: [
      { firstName: 'John', lastName: 'Doe' },
      { firstName: 'Anna', lastName: 'Smith' },
      { firstName: 'Peter', lastName: 'Jones' },
    ],
  };

  it('reads objects inside an event array as values of the parent field', () => {
    expect(matchesPattern({ employees: { firstName: ['Anna'] } }, employees)).toBe(true);
  });

  it('matches several fields taken from the same array element', () => {
    expect(matchesPattern({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, employees)).toBe(true);
  });

  it('does not match fields taken from different elements of the same array', () => {
    expect(matchesPattern({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, employees)).toBe(false);
  });

  it('flattens arrays of arrays', () => {
    const event = { employees: [[{ firstName: 'John' }, { firstName: 'Anna' }], [{ firstName: 'Peter' }]] };

    expect(matchesPattern({ employees: { firstName: ['Peter'] } }, event)).toBe(true);
  });
});

describe('null and empty string (eb-event-patterns-null-values.html)', () => {
  it('matches an empty string with [""]', () => {
    expect(matchesPattern({ detail: { eventVersion: [''] } }, AUTOSCALING_EVENT)).toBe(true);
  });

  it('matches a null value with [null]', () => {
    expect(matchesPattern({ detail: { responseElements: [null] } }, AUTOSCALING_EVENT)).toBe(true);
  });

  it('matches the documented field-matching example on responseElements', () => {
    const pattern = { source: ['aws.autoscaling'], 'detail-type': ['EC2 Instance Launch Successful'], detail: { responseElements: [null] } };

    expect(matchesPattern(pattern, AUTOSCALING_EVENT)).toBe(true);
  });

  it('does not match null with [""]', () => {
    expect(matchesPattern({ detail: { responseElements: [''] } }, AUTOSCALING_EVENT)).toBe(false);
  });

  it('does not match an empty string with [null]', () => {
    expect(matchesPattern({ detail: { eventVersion: [null] } }, AUTOSCALING_EVENT)).toBe(false);
  });

  it('does not match a missing field with [null]', () => {
    expect(matchesPattern({ detail: { notThere: [null] } }, AUTOSCALING_EVENT)).toBe(false);
  });
});

describe('prefix and suffix (eb-create-pattern-operators.html)', () => {
  it('matches the time prefix example', () => {
    expect(matchesPattern({ time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-02T18:43:48Z' })).toBe(true);
  });

  it.each([
    [{ prefix: 'us-' }, 'us-east-1', true],
    [{ prefix: 'us-' }, 'eu-west-1', false],
    [{ prefix: 'us-' }, 'US-EAST-1', false],
    [{ prefix: '' }, 'anything', true],
    [{ prefix: '1' }, 123, false],
    [{ prefix: { 'equals-ignore-case': 'eventb' } }, 'EventBridge', true],
    [{ prefix: { 'equals-ignore-case': 'eventb' } }, 'EVENTBRIDGE', true],
    [{ prefix: { 'equals-ignore-case': 'eventb' } }, 'MyEventBridge', false],
    [{ suffix: '.png' }, 'photo.png', true],
    [{ suffix: '.png' }, 'photo.PNG', false],
    [{ suffix: '.png' }, 'photo.jpg', false],
    [{ suffix: '3' }, 123, false],
    [{ suffix: { 'equals-ignore-case': 'tbridge' } }, 'EventBRIDGE', true],
    [{ suffix: { 'equals-ignore-case': 'tbridge' } }, 'eventbridges', false],
  ])('%j on %j: %s', (condition, value, expected) => {
    expect(leafMatches(condition, value)).toBe(expected);
  });
});

describe('equals-ignore-case (eb-create-pattern-operators.html)', () => {
  it.each([
    ['alice', 'Alice', true],
    ['alice', 'ALICE', true],
    ['alice', 'Alicia', false],
    ['', '', true],
    ['', 'test-value', false],
    ['5', 5, false],
    ['null', null, false],
    // event-ruler folds the pattern one character at a time; the event's text is taken as it is.
    ['\u03B0', '\u03A5\u0308\u0301', true], // ΰ upper-cases to three code points
    ['straße', 'STRASSE', true],
    ['STRASSE', 'straße', false],
  ])('%j on %j: %s', (text, value, expected) => {
    expect(leafMatches({ 'equals-ignore-case': text }, value)).toBe(expected);
  });
});

describe('wildcard (eb-create-pattern-operators.html, event-ruler README)', () => {
  it.each([
    ['Simple*Service', 'SimpleQueueService', true],
    ['Simple*Service', 'SimpleService', true],
    ['Simple*Service', 'SimpleQueueServices', false],
    ['*.png', 'dir/image.png', true],
    ['*.png', 'image.jpg', false],
    ['*Title*', 'My Title here', true],
    ['*Title*', 'My title here', false],
    ['dir/*/file', 'dir/a/b/file', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['*', '', true],
    ['no-wildcard', 'no-wildcard', true],
    ['no-wildcard', 'no-wildcard-here', false],
    ['/Users/*/dir/dir/dir/dir/dir/doc.txt', '/Users/ls_user/dir/dir/dir/dir/dir/doc.txt', true],
    ['*/manifest.json', 'runs/42/manifest.json', true],
  ])('%j on %j: %s', (wildcard, value, expected) => {
    expect(leafMatches({ wildcard }, value)).toBe(expected);
  });

  it('matches a literal asterisk escaped as \\*', () => {
    expect(leafMatches({ wildcard: 'a\\*b' }, 'a*b')).toBe(true);
  });

  it('does not treat an escaped asterisk as a wildcard', () => {
    expect(leafMatches({ wildcard: 'a\\*b' }, 'axxb')).toBe(false);
  });

  it('matches a literal backslash escaped as \\\\', () => {
    expect(leafMatches({ wildcard: 'C:\\\\*' }, 'C:\\Windows')).toBe(true);
  });

  it('only matches strings', () => {
    expect(leafMatches({ wildcard: '*' }, 5)).toBe(false);
  });
});

describe('anything-but (eb-create-pattern-operators.html)', () => {
  it.each([
    ['a different string', { 'anything-but': 'initializing' }, 'running', true],
    ['the excluded string', { 'anything-but': 'initializing' }, 'initializing', false],
    ['a null value (AWS-verified)', { 'anything-but': 'initializing' }, null, true],
    ['a different number', { 'anything-but': 123 }, 124, true],
    ['the excluded number', { 'anything-but': 123 }, 123, false],
    ['zero when zero is excluded', { 'anything-but': 0 }, 0, false],
    ['a string outside the list', { 'anything-but': ['stopped', 'overloaded'] }, 'running', true],
    ['a string in the list', { 'anything-but': ['stopped', 'overloaded'] }, 'overloaded', false],
    ['a number outside the list', { 'anything-but': [100, 200, 300] }, 301.8, true],
    ['a number in the list', { 'anything-but': [100, 200, 300] }, 200, false],
    ['a value without the prefix', { 'anything-but': { prefix: 'init' } }, 'running', true],
    ['a value with the prefix', { 'anything-but': { prefix: 'init' } }, 'initializing', false],
    ['a number, which has no string prefix (AWS-verified)', { 'anything-but': { prefix: 'init' } }, 12, true],
    ['a value outside a prefix list', { 'anything-but': { prefix: ['init', 'stop'] } }, 'running', true],
    ['a value in a prefix list', { 'anything-but': { prefix: ['init', 'stop'] } }, 'stopping', false],
    ['a file that is not .png', { 'anything-but': { suffix: '.png' } }, 'photo.jpg', true],
    ['a .png file', { 'anything-but': { suffix: '.png' } }, 'photo.png', false],
    ['another value ignoring case', { 'anything-but': { 'equals-ignore-case': 'initializing' } }, 'running', true],
    ['the excluded value in other case', { 'anything-but': { 'equals-ignore-case': 'initializing' } }, 'INITIALIZING', false],
    ['a value outside an ignore-case list', { 'anything-but': { 'equals-ignore-case': ['a', 'b'] } }, 'c', true],
    ['a value in an ignore-case list', { 'anything-but': { 'equals-ignore-case': ['a', 'b'] } }, 'B', false],
    ['a null value with ignore-case (AWS-verified)', { 'anything-but': { 'equals-ignore-case': 'initializing' } }, null, true],
    ['a path without /lib/', { 'anything-but': { wildcard: '*/lib/*' } }, '/usr/bin/tool', true],
    ['a path with /lib/', { 'anything-but': { wildcard: '*/lib/*' } }, '/usr/lib/tool', false],
    ['a path matching none of a wildcard list (AWS-verified)', { 'anything-but': { wildcard: ['*/init/*', '*/dir/*'] } }, 'dir/post/dir', true],
    ['a path matching one of a wildcard list', { 'anything-but': { wildcard: ['*/init/*', '*/dir/*'] } }, 'a/dir/b', false],
    ['a number with a wildcard (AWS-verified)', { 'anything-but': { wildcard: '*/dir/*' } }, 123, true],
    ['a non-empty string with an empty wildcard (AWS-verified)', { 'anything-but': { wildcard: '' } }, 'dir/init/file', true],
  ])('matches %s: %j on %j -> %s', (_, condition, value, expected) => {
    expect(leafMatches(condition, value)).toBe(expected);
  });

  it('does not match a missing field', () => {
    expect(matchesPattern({ detail: { state: [{ 'anything-but': 'initializing' }] } }, withDetail({}))).toBe(false);
  });

  it('matches an event array when any element is not excluded', () => {
    expect(leafMatches({ 'anything-but': 'a' }, ['a', 'b'])).toBe(true);
  });

  it('does not match an event array whose elements are all excluded', () => {
    expect(leafMatches({ 'anything-but': { wildcard: '*ball' } }, ['baseball', 'basketball'])).toBe(false);
  });
});

describe('numeric (eb-create-pattern-operators.html)', () => {
  it('matches the documented c-count / d-count / x-limit example', () => {
    const pattern = {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    };

    expect(matchesPattern(pattern, RULER_EVENT)).toBe(true);
  });

  it.each([
    [['=', 100], 100, true],
    [['=', 100], 100.5, false],
    [['<', 10], 9.99, true],
    [['<', 10], 10, false],
    [['<=', 10], 10, true],
    [['>', 10], 10, false],
    [['>', 100], 101.0, true],
    [['>=', 10], 10, true],
    [['>', 0, '<=', 5], 5, true],
    [['>', 0, '<=', 5], 0, false],
    [['>', 0, '<=', 5], 6, false],
    [['>=', 0, '<', 5], 0, true],
    [['>=', 0, '<', 5], 5, false],
    [['>', -1, '<', 1], -0.5, true],
  ])('%j on %j: %s', (terms, value, expected) => {
    expect(leafMatches({ numeric: terms }, value)).toBe(expected);
  });

  it.each([
    ['a numeric string', '5'],
    ['null', null],
    ['a boolean', true],
    ['a number beyond the ±5e9 limit', 6e9],
  ])('does not match %s', (_, value) => {
    expect(leafMatches({ numeric: ['>', 0] }, value)).toBe(false);
  });
});

describe('exists (eb-create-pattern-operators.html)', () => {
  it('exists:true matches a present field', () => {
    expect(matchesPattern({ detail: { state: [{ exists: true }] } }, EC2_EVENT)).toBe(true);
  });

  it('exists:true does not match a missing field', () => {
    expect(matchesPattern({ detail: { 'c-count': [{ exists: true }] } }, EC2_EVENT)).toBe(false);
  });

  it('exists:true matches a field whose value is null', () => {
    expect(matchesPattern({ detail: { responseElements: [{ exists: true }] } }, AUTOSCALING_EVENT)).toBe(true);
  });

  it('exists:true matches a field whose value is an empty string', () => {
    expect(matchesPattern({ detail: { eventVersion: [{ exists: true }] } }, AUTOSCALING_EVENT)).toBe(true);
  });

  it('exists:false matches a missing field', () => {
    expect(matchesPattern({ detail: { 'c-count': [{ exists: false }] } }, EC2_EVENT)).toBe(true);
  });

  it('exists:false does not match a present field', () => {
    expect(matchesPattern({ detail: { state: [{ exists: false }] } }, EC2_EVENT)).toBe(false);
  });

  it('exists:false does not match a field whose value is null', () => {
    expect(matchesPattern({ detail: { responseElements: [{ exists: false }] } }, AUTOSCALING_EVENT)).toBe(false);
  });

  it('exists:false matches a field that is an object, as exists only looks at leaves (documented example)', () => {
    const event = withDetail({ state: ['initializing', 'running'], 'c-count': { c1: 100 } });

    expect(matchesPattern({ detail: { 'c-count': [{ exists: false }] } }, event)).toBe(true);
  });

  it('exists:true does not match a field that is an object', () => {
    expect(matchesPattern({ detail: { 'c-count': [{ exists: true }] } }, withDetail({ 'c-count': { c1: 100 } }))).toBe(false);
  });

  it('exists:true does not match an empty array (AWS-verified)', () => {
    expect(matchesPattern({ resources: [{ exists: true }] }, AUTOSCALING_EVENT)).toBe(false);
  });

  it('exists:false matches an empty array', () => {
    expect(matchesPattern({ resources: [{ exists: false }] }, AUTOSCALING_EVENT)).toBe(true);
  });

  it('exists:true matches when any element of an array of objects has the field (AWS-verified)', () => {
    const event = withDetail({ automations: [{ key1: 'value1' }, { id: 'match-does-exist' }, { key2: 'value2' }] });

    expect(matchesPattern({ detail: { automations: { id: [{ exists: true }] } } }, event)).toBe(true);
  });

  it('exists:false matches deep below a missing parent', () => {
    const event = withDetail({ level1: { level2: 'l2 value' } });

    expect(matchesPattern({ detail: { level1: { level2: { level3: [{ exists: false }] } } } }, event)).toBe(true);
  });

  it('exists:false holds within the array element the other fields matched in', () => {
    const event = { items: [{ a: 1, b: 2 }, { a: 3 }] };

    expect(matchesPattern({ items: { a: [3], b: [{ exists: false }] } }, event)).toBe(true);
  });

  it('exists:false fails when the field is in the array element the other fields matched in', () => {
    const event = { items: [{ a: 3, b: 2 }, { a: 1 }] };

    expect(matchesPattern({ items: { a: [3], b: [{ exists: false }] } }, event)).toBe(false);
  });

  it('ORs exists:false with other values of the same field (AWS-verified)', () => {
    const pattern = { dynamodb: { NewImage: { homemade: { S: [{ 'anything-but': ['roses'] }, { exists: false }] } } } };
    const event = { dynamodb: { NewImage: { homemade: { N: '789' } } } };

    expect(matchesPattern(pattern, event)).toBe(true);
  });
});

describe('cidr (eb-create-pattern-operators.html)', () => {
  it.each([
    ['10.0.0.0/24', '10.0.0.0', true],
    ['10.0.0.0/24', '10.0.0.255', true],
    ['10.0.0.0/24', '10.0.1.0', false],
    ['10.0.0.0/8', '10.200.3.4', true],
    ['10.0.0.0/24', 'not-an-ip', false],
    ['10.0.0.0/24', 'fd00::1', false],
    ['2001:db8:1234:1a00::/64', '2001:db8:1234:1a00::1', true],
    ['2001:db8:1234:1a00::/64', '2001:db8:1234:1a00:ffff:ffff:ffff:ffff', true],
    ['2001:db8:1234:1a00::/64', '2001:db8:1234:1b00::1', false],
    ['2001:db8:1234:1a00::/64', '10.0.0.1', false],
    // Host bits set in the pattern: still the whole subnet, as standard CIDR and event-ruler read it.
    ['10.0.0.5/24', '10.0.0.1', true],
    ['10.0.0.5/24', '10.0.1.1', false],
    ['2001:db8:1234:1a00::9/64', '2001:db8:1234:1a00::1', true],
  ])('%s on %j: %s', (cidr, value, expected) => {
    expect(leafMatches({ cidr }, value)).toBe(expected);
  });

  it('does not match a number (AWS-verified)', () => {
    expect(leafMatches({ cidr: '10.0.0.0/24' }, 123)).toBe(false);
  });
});

describe('$or (eb-create-pattern-operators.html, event-ruler README)', () => {
  const cloudwatch = (fields: Record<string, unknown>): Record<string, unknown> => ({ source: 'aws.cloudwatch', ...fields });
  const normalOr = {
    source: ['aws.cloudwatch'],
    $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
  };

  it('matches when the first branch matches', () => {
    expect(matchesPattern(normalOr, cloudwatch({ metricName: 'CPUUtilization' }))).toBe(true);
  });

  it('matches when the second branch matches', () => {
    expect(matchesPattern(normalOr, cloudwatch({ namespace: 'AWS/ES' }))).toBe(true);
  });

  it('does not match when no branch matches', () => {
    expect(matchesPattern(normalOr, cloudwatch({ metricName: 'Other', namespace: 'Other' }))).toBe(false);
  });

  it('still requires the fields outside $or', () => {
    expect(matchesPattern(normalOr, { source: 'aws.ec2', metricName: 'CPUUtilization' })).toBe(false);
  });

  const andInsideOr = {
    source: ['aws.cloudwatch'],
    $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2'] }, { scope: ['Service'] }],
  };

  it('requires every field of a multi-field branch', () => {
    expect(matchesPattern(andInsideOr, cloudwatch({ metricType: 'MetricType' }))).toBe(false);
  });

  it('matches a multi-field branch when all its fields match', () => {
    expect(matchesPattern(andInsideOr, cloudwatch({ metricType: 'MetricType', namespace: 'AWS/EC2' }))).toBe(true);
  });

  it('supports $or nested inside a $or branch', () => {
    const pattern = {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization'] },
        { metricType: ['MetricType'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] },
      ],
    };

    expect(matchesPattern(pattern, cloudwatch({ metricType: 'MetricType', spaceId: 1000 }))).toBe(true);
  });

  it('supports $or inside a nested object, in parallel with a top-level $or', () => {
    const pattern = {
      $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }],
      detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] },
    };

    expect(matchesPattern(pattern, { namespace: 'AWS/EC2', detail: { 'detail-type': 'CloudWatch Alarm State Change' } })).toBe(true);
  });

  it('applies operators inside $or branches', () => {
    const pattern = { detail: { $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }] } };

    expect(matchesPattern(pattern, withDetail({ 'c-count': 50, 'd-count': 3 }))).toBe(true);
  });
});

describe('complex patterns (eb-create-pattern-operators.html, event-ruler README)', () => {
  it('matches the documented simple pattern against the sample event', () => {
    const pattern = {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
      detail: { state: ['initializing', 'running'] },
    };

    expect(matchesPattern(pattern, RULER_EVENT)).toBe(true);
  });

  const complex = {
    time: [{ prefix: '2017-10-02' }],
    detail: {
      state: [{ 'anything-but': 'initializing' }],
      'c-count': [{ numeric: ['>', 0, '<=', 5] }],
      'd-count': [{ numeric: ['<', 10] }],
      'x-limit': [{ 'anything-but': [100, 200, 300] }],
      'source-ip': [{ cidr: '10.0.0.0/8' }],
    },
  };

  it('matches the complex example (prefix, anything-but, numeric, cidr) against the sample event', () => {
    expect(matchesPattern(complex, RULER_EVENT)).toBe(true);
  });

  it('does not match the complex example once one condition fails', () => {
    const event = { ...RULER_EVENT, detail: { ...RULER_EVENT.detail, 'x-limit': 300 } };

    expect(matchesPattern(complex, event)).toBe(false);
  });
});

describe('Sluice rule patterns against real sample events', () => {
  const sourcePushRule = {
    source: ['aws.codecommit'],
    'detail-type': ['CodeCommit Repository State Change'],
    detail: {
      event: ['referenceCreated', 'referenceUpdated'],
      referenceType: ['branch'],
      repositoryName: [{ wildcard: '*' }],
      referenceName: ['main'],
    },
  };

  it('does not match the reference-created sample, whose branch is myBranch', () => {
    expect(matchesPattern(sourcePushRule, loadSample('codecommit-reference-created.json'))).toBe(false);
  });

  it('matches the reference-created sample once its branch is main', () => {
    const event = loadSample<{ detail: Record<string, unknown> }>('codecommit-reference-created.json');
    event.detail.referenceName = 'main';

    expect(matchesPattern(sourcePushRule, event)).toBe(true);
  });

  it('matches the SageMaker job state rule against the training job sample', () => {
    const jobStateRule = {
      source: ['aws.sagemaker'],
      'detail-type': ['SageMaker Training Job State Change', 'SageMaker Processing Job State Change'],
      detail: {
        $or: [{ TrainingJobStatus: ['Completed', 'Failed', 'Stopped'] }, { ProcessingJobStatus: ['Completed', 'Failed', 'Stopped'] }],
      },
    };

    expect(matchesPattern(jobStateRule, loadSample('sagemaker-training-job-state-change.json'))).toBe(true);
  });
});

describe('validatePattern', () => {
  it.each([
    ['a pattern that is an array', ['not', 'an', 'object'], 'Filter is not an object', '$'],
    ['a pattern that is a string', '{"source": ["x"]}', 'Filter is not an object', '$'],
    ['a null pattern', null, 'Filter is not an object', '$'],
    ['an empty pattern', {}, 'Empty objects are not allowed', '$'],
    ['an empty nested object', { detail: {} }, 'Empty objects are not allowed', '$.detail'],
    ['a leaf that is a string', { string: 'my-value' }, '"string" must be an object or an array', '$.string'],
    ['a leaf that is a number', { int: 42 }, '"int" must be an object or an array', '$.int'],
    ['an empty array', { resources: [] }, 'Empty arrays are not allowed', '$.resources'],
    ['a nested array as match value', { a: [['x']] }, 'Match value must be String, number, true, false, or null', '$.a[0]'],
    ['an unknown operator', { a: [{ contains: 'x' }] }, 'Unrecognized match type contains', '$.a[0].contains'],
    ['an operator in the wrong case', { my_key: [{ EXISTS: true }] }, 'Unrecognized match type EXISTS', '$.my_key[0].EXISTS'],
    ['an empty match expression', { a: [{}] }, 'Match expression name not found', '$.a[0]'],
    ['two operators in one expression', { a: [{ prefix: 'x', suffix: 'y' }] }, 'Only one key allowed in match expression', '$.a[0]'],
    ['a prefix that is a list', { time: [{ prefix: ['2022-07-13'] }] }, 'prefix match pattern must be a string', '$.time[0].prefix'],
    ['a prefix that is a number', { time: [{ prefix: 123 }] }, 'prefix match pattern must be a string', '$.time[0].prefix'],
    ['a suffix that is a list', { f: [{ suffix: ['.png'] }] }, 'suffix match pattern must be a string', '$.f[0].suffix'],
    ['prefix with an unknown inner operator', { f: [{ prefix: { wildcard: 'x' } }] }, 'Unsupported prefix pattern: wildcard', '$.f[0].prefix'],
    ['equals-ignore-case that is a list', { d: [{ 'equals-ignore-case': ['x'] }] }, 'equals-ignore-case match pattern must be a string', '$.d[0].equals-ignore-case'],
    ['a wildcard with consecutive *', { a: [{ wildcard: 'arn:aws:events:us-east-1:**:event-bus/*' }] }, 'Consecutive wildcard characters at pos 26', '$.a[0].wildcard'],
    ['a wildcard escaping another character', { a: [{ wildcard: 'a\\b' }] }, 'Invalid escape character at pos 2', '$.a[0].wildcard'],
    ['a wildcard ending with a backslash', { a: [{ wildcard: 'a\\' }] }, 'Invalid escape character at pos 2', '$.a[0].wildcard'],
    ['a wildcard that is a number', { a: [{ wildcard: 123 }] }, 'wildcard match pattern must be a string', '$.a[0].wildcard'],
    ['numeric that is not an array', { n: [{ numeric: 5 }] }, 'Value of numeric must be an array.', '$.n[0].numeric'],
    ['an empty numeric array', { n: [{ numeric: [] }] }, 'Invalid member in numeric match: ]', '$.n[0].numeric[0]'],
    ['an unknown numeric operator', { n: [{ numeric: ['!=', 5] }] }, 'Unrecognized numeric range operator: !=', '$.n[0].numeric[0]'],
    ['a numeric operand that is a string', { n: [{ numeric: ['=', '5'] }] }, 'Value of equals must be numeric', '$.n[0].numeric[1]'],
    ['a numeric range missing its top', { n: [{ numeric: ['>', 0, '<'] }] }, 'Value of < must be numeric', '$.n[0].numeric[3]'],
    ['a numeric range with two lower bounds', { n: [{ numeric: ['>', 0, '>', 0] }] }, 'Bad numeric range operator: >', '$.n[0].numeric[2]'],
    ['a numeric "<" followed by more terms', { n: [{ numeric: ['<', 5, '>', 0] }] }, 'Too many elements in numeric expression', '$.n[0].numeric[2]'],
    ['a numeric range whose bottom is not below its top', { n: [{ numeric: ['>', 5, '<', 5] }] }, 'Bottom must be less than top', '$.n[0].numeric'],
    ['a numeric range with a fifth term', { n: [{ numeric: ['>', 0, '<', 5, 6] }] }, 'Too many terms in numeric range expression', '$.n[0].numeric[4]'],
    ['a numeric bound beyond 5e9', { n: [{ numeric: ['>', 6e9] }] }, 'Value must be between -5.0E9 and 5.0E9, inclusive', '$.n[0].numeric[1]'],
    ['a numeric bound with seven decimals', { n: [{ numeric: ['>', 0.1234567] }] }, 'Only values upto 6 decimals are supported', '$.n[0].numeric[1]'],
    ['anything-but null', { s: [{ 'anything-but': null }] }, 'Value of anything-but must be an array or single string/number value.', '$.s[0].anything-but'],
    ['anything-but a boolean', { s: [{ 'anything-but': true }] }, 'Value of anything-but must be an array or single string/number value.', '$.s[0].anything-but'],
    ['anything-but a mixed list', { s: [{ 'anything-but': ['a', 1] }] }, 'Inside anything but list, either all values are number or string, mixed type is not supported', '$.s[0].anything-but'],
    ['anything-but an empty list', { s: [{ 'anything-but': [] }] }, 'Inside anything but list, either all values are number or string, mixed type is not supported', '$.s[0].anything-but'],
    ['anything-but a list holding null', { s: [{ 'anything-but': ['a', null] }] }, 'Inside anything but list, start|null|boolean is not supported.', '$.s[0].anything-but[1]'],
    ['anything-but an unknown operator', { s: [{ 'anything-but': { numeric: ['>', 1] } }] }, 'Unsupported anything-but pattern: numeric', '$.s[0].anything-but'],
    ['anything-but an empty prefix', { s: [{ 'anything-but': { prefix: '' } }] }, 'Null prefix/suffix not allowed', '$.s[0].anything-but.prefix'],
    ['anything-but a numeric prefix', { s: [{ 'anything-but': { prefix: 123 } }] }, 'prefix/suffix match pattern must be a string', '$.s[0].anything-but.prefix'],
    ['anything-but a suffix list holding a number', { s: [{ 'anything-but': { suffix: [123, '.txt'] } }] }, 'prefix/suffix match pattern must be a string', '$.s[0].anything-but.suffix[0]'],
    ['anything-but a prefix ignoring case', { s: [{ 'anything-but': { prefix: { 'equals-ignore-case': 'file' } } }] }, 'Value of anything-but must be an array or single string/number value.', '$.s[0].anything-but.prefix'],
    ['anything-but equals-ignore-case a number', { s: [{ 'anything-but': { 'equals-ignore-case': 123 } }] }, 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.', '$.s[0].anything-but.equals-ignore-case'],
    ['anything-but a wildcard list holding a number', { s: [{ 'anything-but': { wildcard: [123, '*/dir/*'] } }] }, 'wildcard match pattern must be a string', '$.s[0].anything-but.wildcard[0]'],
    ['anything-but an invalid wildcard', { s: [{ 'anything-but': { wildcard: 'a**' } }] }, 'Consecutive wildcard characters at pos 2', '$.s[0].anything-but.wildcard'],
    ['exists that is not a boolean', { s: [{ exists: 'yes' }] }, 'exists match pattern must be either true or false.', '$.s[0].exists'],
    ['a cidr without a mask', { ip: [{ cidr: '10.0.0.0' }] }, "Malformed CIDR, one '/' required", '$.ip[0].cidr'],
    ['a cidr whose mask is not an integer', { ip: [{ cidr: '10.0.0.0/x' }] }, 'Malformed CIDR, mask bits must be an integer', '$.ip[0].cidr'],
    ['a cidr with a bad IPv4 address', { ip: [{ cidr: 'xx.11.xx/24' }] }, 'Nonstandard IP address: xx.11.xx', '$.ip[0].cidr'],
    ['a cidr with a bad IPv6 address', { ip: [{ cidr: 'xxxx:db8:1234:1a00::/64' }] }, 'Nonstandard IP address: xxxx:db8:1234:1a00::', '$.ip[0].cidr'],
    ['an IPv4 cidr mask above 31', { ip: [{ cidr: '10.0.0.0/33' }] }, 'IPv4 mask bits must be < 32', '$.ip[0].cidr'],
    ['a cidr that is a list', { ip: [{ cidr: ['bad-type'] }] }, 'prefix match pattern must be a string', '$.ip[0].cidr'],
    ['$or that is not an array', { $or: { a: ['x'] } }, 'It must be an Array followed with $or.', '$.$or'],
    ['$or with a single object', { $or: [{ a: ['x'] }] }, 'There must have at least 2 Objects in $or relationship.', '$.$or'],
    ['$or holding a non-object', { $or: [{ a: ['x'] }, ['b']] }, 'Only JSON object is allowed in array of $or relationship.', '$.$or[1]'],
    ['$or using an operator name as a field', { $or: [{ numeric: [123] }, { prefix: ['abc'] }] }, 'numeric is Ruler reserved fieldName which cannot be used inside $or.', '$.$or[0].numeric'],
  ])('rejects %s', (_, pattern, reason, path) => {
    expect(() => validatePattern(pattern)).toThrow(expect.objectContaining({ reason, path }));
  });

  it('throws an InvalidEventPatternError named InvalidEventPatternException', () => {
    expect(() => validatePattern({ resources: [] })).toThrow(InvalidEventPatternError);
    expect(() => validatePattern({ resources: [] })).toThrow(expect.objectContaining({ name: 'InvalidEventPatternException' }));
  });

  it('words the message as EventBridge does and names the offending path', () => {
    expect(() => validatePattern({ detail: { state: [{ 'anything-but': null }] } })).toThrow(
      'Event pattern is not valid. Reason: Value of anything-but must be an array or single string/number value. (at $.detail.state[0].anything-but)',
    );
  });

  it.each([
    ['every documented operator', {
      source: ['aws.ec2', null, 5, true, ''],
      detail: {
        a: [{ prefix: 'x' }, { prefix: { 'equals-ignore-case': 'x' } }, { suffix: 'x' }, { suffix: { 'equals-ignore-case': 'x' } }],
        b: [{ 'equals-ignore-case': 'x' }, { wildcard: 'a*b\\*c\\\\' }, { exists: true }, { exists: false }],
        c: [{ 'anything-but': 'x' }, { 'anything-but': 1 }, { 'anything-but': ['x', 'y'] }, { 'anything-but': [1, 2] }],
        d: [{ 'anything-but': { prefix: 'x' } }, { 'anything-but': { suffix: ['x'] } }, { 'anything-but': { wildcard: '*x*' } }],
        e: [{ 'anything-but': { 'equals-ignore-case': ['x'] } }, { numeric: ['>=', -5e9, '<', 5e9] }, { numeric: ['=', 0.000001] }],
        f: [{ cidr: '10.0.0.0/24' }, { cidr: '2001:db8::/32' }],
        $or: [{ g: ['x'] }, { h: { i: ['y'] } }],
      },
    }],
    ['a field named like an operator outside $or', { detail: { prefix: ['x'], numeric: ['y'] } }],
  ])('accepts %s', (_, pattern) => {
    expect(() => validatePattern(pattern)).not.toThrow();
  });
});

describe('matchesPattern and compilePattern', () => {
  it('matchesPattern throws InvalidEventPatternError for a malformed pattern', () => {
    expect(() => matchesPattern({ source: 'aws.ec2' }, EC2_EVENT)).toThrow(InvalidEventPatternError);
  });

  it('compilePattern throws InvalidEventPatternError for a malformed pattern', () => {
    expect(() => compilePattern({ source: [{ prefix: 1 }] })).toThrow(InvalidEventPatternError);
  });

  it('a compiled matcher can be reused across events', () => {
    const isTerminated = compilePattern({ source: ['aws.ec2'], detail: { state: ['terminated'] } });

    expect([EC2_EVENT, RULER_EVENT].map(isTerminated)).toEqual([true, false]);
  });

  it('modifies neither the pattern nor the event', () => {
    const pattern = deepFreeze({ detail: { $or: [{ state: [{ 'anything-but': 'x' }] }, { 'c-count': [{ numeric: ['>', 1] }] }] } });
    const event = deepFreeze(structuredClone(RULER_EVENT));

    expect(matchesPattern(pattern, event)).toBe(true);
  });

  it('evaluates 10k events against a compiled 5-field pattern (perf sanity)', () => {
    const matcher = compilePattern({
      source: ['aws.ec2'],
      'detail-type': [{ prefix: 'EC2 Instance' }],
      resources: [{ wildcard: 'arn:aws:ec2:*:instance/*' }],
      region: [{ 'anything-but': ['eu-west-1', 'eu-west-2'] }],
      detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
    });
    let matched = 0;

    for (let i = 0; i < 10_000; i++) if (matcher(RULER_EVENT)) matched++;

    expect(matched).toBe(10_000);
  });
});
