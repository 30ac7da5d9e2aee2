import { executionArnOf, parseParameters } from '../../../cli/build-commands';

const LOCAL = { partition: 'aws', region: 'us-east-1', accountId: '123456789012' };

describe('parseParameters (sluice run --param Name=value)', () => {
  it('reads numbers and booleans as such, anything else as text', () => {
    expect(parseParameters(['MinAccuracy=0.5', 'Rounds=50', 'Deep=true', 'InstanceType=ml.m5.large', 'Note=a=b', 'Big=1e3'])).toEqual({
      MinAccuracy: 0.5,
      Rounds: 50,
      Deep: true,
      InstanceType: 'ml.m5.large',
      Note: 'a=b',
      Big: 1000,
    });
  });

  it('keeps text that only looks partly numeric as text', () => {
    expect(parseParameters(['Version=1.2.3', 'Empty='])).toEqual({ Version: '1.2.3', Empty: '' });
  });

  it('names a pair without =', () => {
    expect(() => parseParameters(['MinAccuracy'])).toThrow('--param MinAccuracy: expected Name=value');
  });
});

describe('executionArnOf (sluice retry <run>)', () => {
  it('reads a run as sluice status prints it, <state machine>/<execution>', () => {
    expect(executionArnOf('sluice-local-build-abalone-age-1a2b3c4d/abalone-age-0123abcd-a1b2c3', LOCAL)).toBe(
      'arn:aws:states:us-east-1:123456789012:execution:sluice-local-build-abalone-age-1a2b3c4d:abalone-age-0123abcd-a1b2c3',
    );
  });

  it("uses the target's partition, region and account", () => {
    expect(executionArnOf('sluice-dev-build-x-1a2b3c4d/run-1', { partition: 'aws-cn', region: 'cn-north-1', accountId: '111122223333' })).toBe('arn:aws-cn:states:cn-north-1:111122223333:execution:sluice-dev-build-x-1a2b3c4d:run-1');
  });

  it('takes an execution ARN as it is', () => {
    const arn = 'arn:aws:states:eu-west-1:111122223333:execution:sluice-dev-build-x-1a2b3c4d:run';
    expect(executionArnOf(arn, LOCAL)).toBe(arn);
  });

  it('says what a run reference looks like when it is neither', () => {
    expect(() => executionArnOf('abalone', LOCAL)).toThrow(/give its execution ARN or <state machine>\/<execution> as "sluice status" shows it/);
  });
});
