import { InputTransformerError, transformInput, valueAtPath } from '../../../local/eventbridge/input-transformer';

/**
 * The input transformer against the examples of the EventBridge user guide ("Amazon EventBridge input
 * transformation", eb-transform-target-input): its EC2 event, its InputPathsMap and each template of its
 * table with the output the page shows.
 */

const EC2_EVENT = {
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '123456789012',
  time: '2015-11-11T21:29:54Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
  detail: { 'instance-id': 'i-0123456789', state: 'RUNNING' },
};
const PATHS = { timestamp: '$.time', instance: '$.detail.instance-id', state: '$.detail.state' };
const RULE = { ruleArn: 'arn:aws:events:us-east-2:123456789012:rule/example', ruleName: 'example' };

const transform = (template: string, paths: Record<string, string> = PATHS, event: Record<string, unknown> = structuredClone(EC2_EVENT)) =>
  transformInput({ InputPathsMap: paths, InputTemplate: template }, event, RULE);

describe('the documented templates', () => {
  it('fills a simple string template, keeping its quotes', () => {
    expect(transform('"instance <instance> is in <state>"')).toBe('"instance i-0123456789 is in RUNNING"');
  });

  it('keeps escaped quotes around a value inside a string', () => {
    expect(transform('"instance \\"<instance>\\" is in <state>"')).toBe('"instance \\"i-0123456789\\" is in RUNNING"');
  });

  it('quotes string values placed outside quotes in a JSON template, and minifies the JSON', () => {
    expect(JSON.parse(transform('{\n  "instance" : <instance>,\n  "state": <state>\n}'))).toEqual({ instance: 'i-0123456789', state: 'RUNNING' });
    expect(transform('{\n  "instance" : <instance>,\n  "state": <state>\n}')).toBe('{"instance":"i-0123456789","state":"RUNNING"}');
  });

  it('mixes variables in and out of strings in one JSON template', () => {
    const output = transform('{"instance" : <instance>, "state": "<state>", "instanceStatus": "instance \\"<instance>\\" is in <state>"}');
    expect(JSON.parse(output)).toEqual({ instance: 'i-0123456789', state: 'RUNNING', instanceStatus: 'instance "i-0123456789" is in RUNNING' });
  });

  it('places a variable among static values of an array', () => {
    expect(JSON.parse(transform('{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}'))).toEqual({
      instance: 'i-0123456789',
      state: [9, 'RUNNING', true],
      Transformed: 'Yes',
    });
  });

  it('offers the reserved variables: rule ARN and name, the event without detail, the whole event', () => {
    const output = JSON.parse(transform('{"ruleArn": <aws.events.rule-arn>, "ruleName": <aws.events.rule-name>, "original": <aws.events.event>, "full": <aws.events.event.json>}')) as Record<string, unknown>;
    expect(output.ruleArn).toBe(RULE.ruleArn);
    expect(output.ruleName).toBe('example');
    const { detail: _detail, ...withoutDetail } = EC2_EVENT;
    expect(output.original).toEqual(withoutDetail);
    expect(output.full).toEqual(EC2_EVENT);
  });

  it('uses a reserved variable in a string', () => {
    expect(transform('"<aws.events.rule-name> triggered"')).toBe('"example triggered"');
  });

  it('passes text that is not JSON (several quoted lines: a multi-line e-mail) as written, values unescaped', () => {
    expect(transform('"Instance: <instance>"\n"State: <state>"')).toBe('"Instance: i-0123456789"\n"State: RUNNING"');
  });
});

describe('values and paths', () => {
  it('writes numbers, booleans and objects as JSON inside strings too', () => {
    const event = { ...structuredClone(EC2_EVENT), detail: { count: 3, ok: false, tags: { a: 1 } } };
    expect(transform('"<count> <ok> <tags>"', { count: '$.detail.count', ok: '$.detail.ok', tags: '$.detail.tags' }, event)).toBe('"3 false {"a":1}"');
  });

  it('leaves out a variable whose path matches nothing: empty in a string, null outside one', () => {
    const paths = { ...PATHS, missing: '$.detail.nope' };
    expect(transform('"[<missing>]"', paths)).toBe('"[]"');
    expect(transform('{"m": <missing>}', paths)).toBe('{"m":null}');
  });

  it('keeps text in angle brackets that names no variable', () => {
    expect(transform('"a <b> c <instance>"')).toBe('"a <b> c i-0123456789"');
  });

  it('reads array indices and names with dashes', () => {
    expect(valueAtPath(EC2_EVENT, '$.resources[0]')).toBe('arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111');
    expect(valueAtPath(EC2_EVENT, '$.detail-type')).toBe('EC2 Instance State-change Notification');
    expect(valueAtPath(EC2_EVENT, '$')).toEqual(EC2_EVENT);
    expect(valueAtPath(EC2_EVENT, '$.resources[3]')).toBeUndefined();
  });

  it('refuses a path without $ and a variable named like a reserved one', () => {
    expect(() => valueAtPath(EC2_EVENT, 'detail.state')).toThrow(InputTransformerError);
    expect(() => transform('"x"', { 'aws.events.mine': '$.id' })).toThrow(/reserved/);
  });
});
