import 'aws-sdk-client-mock-jest';

import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient, ServiceUnavailable } from '@aws-sdk/client-sagemaker-runtime';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

import { runSmokeTest, smokeTestProblems } from '../../../shared/deploy/smoke-test';
import { RetryableError, SmokeTestBodyChangedError, SmokeTestFailedError } from '../../../shared/errors';
import { GROUP, plan, SMOKE_BODY, smokeBodyObject, stageInput } from '../../helpers/deploy';
import { BUCKET } from '../../helpers/fixtures';

const runtime = mockClient(SageMakerRuntimeClient);
const s3 = mockClient(S3Client);

function answer(text: string) {
  return { Body: new TextEncoder().encode(text) as never, ContentType: 'text/csv' };
}

beforeEach(() => {
  runtime.reset();
  s3.reset();
  runtime.on(InvokeEndpointCommand).resolves(answer('9.8\n7.1\n10.4\n'));
  s3.on(GetObjectCommand).callsFake(() => smokeBodyObject(SMOKE_BODY));
});

describe('runSmokeTest', () => {
  it('sends mlops.yaml\'s body, read from where prepare-deploy stored it, with its content types to the stage\'s endpoint', async () => {
    await expect(runSmokeTest(stageInput('staging'))).resolves.toMatchObject({ endpointName: `${GROUP}-staging`, lines: 3 });

    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: BUCKET, Key: `deploys/${GROUP}/v3/smoke-body` });
    const input = runtime.commandCalls(InvokeEndpointCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ EndpointName: `${GROUP}-staging`, ContentType: 'text/csv', Accept: 'text/csv' });
    expect(new TextDecoder().decode(input?.Body as Uint8Array)).toBe(SMOKE_BODY);
  });

  it('fails with SmokeTestBodyChanged, invoking nothing, when the stored body is not the one planned (SHA-256 differs)', async () => {
    s3.on(GetObjectCommand).callsFake(() => smokeBodyObject(SMOKE_BODY.replace('M,', 'F,')));

    await expect(runSmokeTest(stageInput('staging'))).rejects.toThrow(SmokeTestBodyChangedError);
    expect(runtime).not.toHaveReceivedCommand(InvokeEndpointCommand);
  });

  it('fails with SmokeTestBodyChanged when the stored body is gone', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));

    await expect(runSmokeTest(stageInput('staging'))).rejects.toThrow(/smoke-body does not exist/);
  });

  it('fails with SmokeTestFailed naming the HTTP status and ModelError message', async () => {
    runtime.on(InvokeEndpointCommand).rejects(new ModelError({ message: 'Received client error (400) from primary with message "line 2: expected 8 fields"', OriginalStatusCode: 400, $metadata: { httpStatusCode: 424 } }));

    await expect(runSmokeTest(stageInput('prod'))).rejects.toThrow(/HTTP 400: ModelError: .*line 2: expected 8 fields/);
  });

  it('fails with SmokeTestFailed when the response has the wrong number of lines', async () => {
    runtime.on(InvokeEndpointCommand).resolves(answer('9.8\n'));

    await expect(runSmokeTest(stageInput('prod'))).rejects.toThrow(new SmokeTestFailedError(`smoke test of ${GROUP}-prod: expected 3 response lines, got 1`));
  });

  it('fails with SmokeTestFailed naming the non-numeric line', async () => {
    runtime.on(InvokeEndpointCommand).resolves(answer('9.8\nNaN?\n10.4\n'));

    await expect(runSmokeTest(stageInput('prod'))).rejects.toThrow(/line 2 is not numeric: "NaN\?"/);
  });

  it('rejects with RetryableError when SageMaker is unavailable', async () => {
    runtime.on(InvokeEndpointCommand).rejects(new ServiceUnavailable({ message: 'try later', $metadata: {} }));

    await expect(runSmokeTest(stageInput('prod'))).rejects.toThrow(RetryableError);
  });
});

describe('smokeTestProblems', () => {
  const test = plan().smokeTest;

  it('names latency over MaxLatencyMs', () => {
    expect(smokeTestProblems(test, '1\n2\n3\n', 2500)).toEqual(['latency 2500 ms exceeds MaxLatencyMs 2000 ms']);
  });

  it('expects the number of lines planned', () => {
    expect(smokeTestProblems(test, '1\n2\n', 10)).toEqual(['expected 3 response lines, got 2']);
  });

  it('accepts any text when NumericResponse is false', () => {
    expect(smokeTestProblems({ ...test, NumericResponse: false }, 'a\nb\nc\n', 10)).toEqual([]);
  });
});
