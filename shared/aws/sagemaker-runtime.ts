import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';

import { classifyAwsError, isAwsError } from '../errors';

// Pure: a function that never calls this adapter does not bundle its client.
const client = /* @__PURE__ */ new SageMakerRuntimeClient({});

export type Invocation =
  | { ok: true; body: string; contentType: string | undefined; latencyMs: number }
  /** The model container answered with an error (ModelError) or SageMaker refused the request (4xx). */
  | { ok: false; status: number | undefined; message: string; latencyMs: number };

/**
 * Sends one request to an endpoint and times it. A model or request error is returned, not
 * thrown, so the caller can say what failed; throttling and 5xx throw RetryableError. Not
 * idempotent in general (the model sees each call); meant for smoke tests.
 */
export async function invokeEndpoint(endpointName: string, request: { body: Uint8Array; contentType: string; accept: string }): Promise<Invocation> {
  const started = performance.now();
  try {
    const output = await client.send(
      new InvokeEndpointCommand({ EndpointName: endpointName, Body: request.body, ContentType: request.contentType, Accept: request.accept }),
    );
    const latencyMs = Math.round(performance.now() - started);
    return { ok: true, body: new TextDecoder().decode(output.Body ?? new Uint8Array()), contentType: output.ContentType, latencyMs };
  } catch (error) {
    const latencyMs = Math.round(performance.now() - started);
    if (isAwsError(error, 'ModelError', 'ValidationError', 'ValidationException', 'ModelNotReadyException')) {
      const { OriginalStatusCode: original, $metadata: metadata } = error as { OriginalStatusCode?: number; $metadata?: { httpStatusCode?: number } };
      return { ok: false, status: original ?? metadata?.httpStatusCode, message: `${(error as Error).name}: ${(error as Error).message}`, latencyMs };
    }
    throw classifyAwsError(error, `InvokeEndpoint ${endpointName}`);
  }
}
