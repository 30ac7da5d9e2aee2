import { AwsServiceError } from '../http/aws-json';
import { compilePattern, InvalidEventPatternError } from './pattern';

/**
 * EventBridge TestEventPattern (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html),
 * answered by the same matcher the runtime's rules use.
 *
 * Errors as EventBridge returns them: a malformed pattern is InvalidEventPatternException
 * ("Event pattern is not valid. Reason: …"); an event that is not a JSON object, or lacks one of
 * id, account, source, time, region, detail-type, is ValidationException "Parameter Event is not
 * valid.". The reference also lists `resources` as mandatory, but EventBridge accepts events
 * without it, and so does this.
 */

const MAX_PATTERN_LENGTH = 4096;
const REQUIRED_EVENT_FIELDS = ['id', 'account', 'source', 'time', 'region', 'detail-type'] as const;

function requiredString(input: Record<string, unknown>, name: 'Event' | 'EventPattern'): string {
  const value = input[name];
  const member = name === 'Event' ? 'event' : 'eventPattern';
  if (value === undefined || value === null) {
    throw new AwsServiceError('ValidationException', `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  if (typeof value !== 'string') throw new AwsServiceError('SerializationException', `${name} must be a string`);
  return value;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

/**
 * Tells whether the input's Event matches its EventPattern (both JSON text, as the API takes them).
 *
 * @returns `{ Result }`, the API's response.
 * @throws {@link AwsServiceError} InvalidEventPatternException or ValidationException, as above.
 * Pure.
 */
export function testEventPattern(input: Record<string, unknown>): { Result: boolean } {
  const patternText = requiredString(input, 'EventPattern');
  const eventText = requiredString(input, 'Event');
  if (patternText.length > MAX_PATTERN_LENGTH) {
    throw new AwsServiceError('ValidationException', `1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PATTERN_LENGTH}`);
  }
  const pattern = parseJson(patternText);
  if (!pattern.ok) throw new AwsServiceError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${pattern.reason}`);
  let matches: (event: object) => boolean;
  try {
    matches = compilePattern(pattern.value);
  } catch (error) {
    if (error instanceof InvalidEventPatternError) throw new AwsServiceError('InvalidEventPatternException', error.message);
    throw error;
  }
  const event = parseJson(eventText);
  const envelope = event.ok ? event.value : undefined;
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope) || REQUIRED_EVENT_FIELDS.some((field) => !(field in envelope))) {
    throw new AwsServiceError('ValidationException', 'Parameter Event is not valid.');
  }
  return { Result: matches(envelope) };
}
