/**
 * TestEventPattern on the local EventBridge (local/eventbridge/test-event-pattern.ts).
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
 */
import { AwsServiceError } from '../../../local/http/aws-json';
import { testEventPattern } from '../../../local/eventbridge/test-event-pattern';
import { loadSample } from '../../helpers/fixtures';

const EVENT = JSON.stringify(loadSample('sagemaker-training-job-state-change.json'));
const PATTERN = JSON.stringify({ source: ['aws.sagemaker'], 'detail-type': ['SageMaker Training Job State Change'] });

/** The error code and message testEventPattern throws for `input`. */
function failure(input: Record<string, unknown>): { code: string; message: string } {
  try {
    testEventPattern(input);
  } catch (error) {
    if (error instanceof AwsServiceError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('testEventPattern did not throw');
}

describe('TestEventPattern', () => {
  it('answers Result true for an event the pattern matches', () => {
    expect(testEventPattern({ EventPattern: PATTERN, Event: EVENT })).toEqual({ Result: true });
  });

  it('answers Result false for an event it does not match', () => {
    const pattern = JSON.stringify({ source: ['aws.codecommit'] });

    expect(testEventPattern({ EventPattern: pattern, Event: EVENT })).toEqual({ Result: false });
  });

  it('rejects a malformed pattern with InvalidEventPatternException and the matcher reason', () => {
    const pattern = JSON.stringify({ detail: { state: [{ prefix: 5 }] } });

    expect(failure({ EventPattern: pattern, Event: EVENT })).toEqual({
      code: 'InvalidEventPatternException',
      message: expect.stringMatching(/^Event pattern is not valid\. Reason: prefix match pattern must be a string/),
    });
  });

  it('rejects a pattern that is not JSON with InvalidEventPatternException', () => {
    expect(failure({ EventPattern: '{"source": [', Event: EVENT }).code).toBe('InvalidEventPatternException');
  });

  it.each([
    ['not JSON', '{"id":'],
    ['not an object', '["aws.sagemaker"]'],
    ['missing detail-type', JSON.stringify({ id: '1', account: '123456789012', source: 'x', time: '2026-12-04T00:00:00Z', region: 'us-east-1' })],
  ])('rejects an event that is %s with ValidationException "Parameter Event is not valid."', (_case, event) => {
    expect(failure({ EventPattern: PATTERN, Event: event })).toEqual({ code: 'ValidationException', message: 'Parameter Event is not valid.' });
  });

  it('accepts an event without resources (EventBridge does, although the reference lists it)', () => {
    const { resources: _resources, ...event } = JSON.parse(EVENT) as Record<string, unknown>;

    expect(testEventPattern({ EventPattern: PATTERN, Event: JSON.stringify(event) })).toEqual({ Result: true });
  });

  it('rejects a missing EventPattern with ValidationException', () => {
    expect(failure({ Event: EVENT }).code).toBe('ValidationException');
  });
});
