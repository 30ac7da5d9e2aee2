import { classifyAwsError, InvalidInputError, isAwsError, RetryableError } from '../../shared/errors';

/** An error shaped like the AWS SDK v3's service exceptions. */
function awsError(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name, $metadata: {}, ...extra });
}

describe('classifyAwsError', () => {
  it.each(['ThrottlingException', 'TooManyRequestsException', 'ProvisionedThroughputExceededException', 'KmsThrottlingException', 'RequestThrottled', 'SlowDown'])(
    'turns %s into a RetryableError that names the call',
    (name) => {
      const classified = classifyAwsError(awsError(name), 'CreateTrainingJob abalone-train-x');

      expect(classified).toBeInstanceOf(RetryableError);
      expect((classified as Error).message).toBe(`CreateTrainingJob abalone-train-x: ${name}: ${name} happened`);
      expect((classified as Error).cause).toBeInstanceOf(Error);
    },
  );

  it('treats any server-side fault as retryable', () => {
    expect(classifyAwsError(awsError('InternalError', { $fault: 'server' }), 'x')).toBeInstanceOf(RetryableError);
  });

  it('treats an error the SDK marks $retryable as retryable', () => {
    expect(classifyAwsError(awsError('SomethingNew', { $retryable: { throttling: true } }), 'x')).toBeInstanceOf(RetryableError);
  });

  it('treats HTTP 429 as retryable whatever the error name', () => {
    expect(classifyAwsError(awsError('Unknown', { $metadata: { httpStatusCode: 429 } }), 'x')).toBeInstanceOf(RetryableError);
  });

  it('returns a client error unchanged', () => {
    const error = awsError('ValidationException', { $fault: 'client' });

    expect(classifyAwsError(error, 'x')).toBe(error);
  });

  it('returns a non-Error value unchanged', () => {
    expect(classifyAwsError('boom', 'x')).toBe('boom');
  });
});

describe('named errors', () => {
  it('carry the contract name, not the class name', () => {
    expect(new InvalidInputError('bad').name).toBe('InvalidInput');
    expect(new RetryableError('later').retryable).toBe(true);
    expect(new InvalidInputError('bad').retryable).toBe(false);
  });
});

describe('isAwsError', () => {
  it('matches by the SDK exception name', () => {
    expect(isAwsError(awsError('ResourceNotFound'), 'ResourceInUse', 'ResourceNotFound')).toBe(true);
    expect(isAwsError(awsError('ResourceInUse'), 'ResourceNotFound')).toBe(false);
    expect(isAwsError('ResourceNotFound', 'ResourceNotFound')).toBe(false);
  });
});
