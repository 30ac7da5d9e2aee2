import type { IncomingMessage, ServerResponse } from 'node:http';

import type { DescribeEndpointOutput } from '@aws-sdk/client-sagemaker';
import { EndpointStatus } from '@aws-sdk/client-sagemaker';

import type { ServiceContext } from '../context';
import { readBody } from '../http/aws-json';
import { type LiveEndpoint, type LiveVariant, pickByWeight, routeFleet } from './fleet';
import { post } from './serving-http';
import type { SageMakerServiceOptions, Wire } from './types';

/**
 * SageMaker Runtime's InvokeEndpoint, locally: picks the variant (target header, canary share,
 * weights), forwards the request to its container's POST /invocations, answers as AWS does
 * (ModelError 424 carrying the container's status and message) and emits the AWS/SageMaker
 * invocation metrics.
 */

export interface InvokeProxyDependencies {
  ctx: ServiceContext;
  metrics?: SageMakerServiceOptions['metrics'];
  /** The endpoint's record and live fleets by name (each undefined when there is none). */
  lookup(name: string): { record: Wire<DescribeEndpointOutput> | undefined; live: LiveEndpoint | undefined };
}

/** How long an invocation waits for an InService endpoint's containers to come back after a restart. */
const RESTART_WAIT_MS = 60_000;

export class InvokeProxy {
  constructor(private readonly deps: InvokeProxyDependencies) {}

  /**
   * The endpoint's record and fleets. An endpoint InService whose containers are not up yet (the
   * runtime has just restarted and is bringing them back) is waited for, up to InvokeEndpoint's
   * 60 s, as an InService endpoint on AWS keeps answering: the caller sees a slow answer, not an error.
   */
  private async serving(name: string): Promise<ReturnType<InvokeProxyDependencies['lookup']>> {
    const deadline = Date.now() + RESTART_WAIT_MS;
    for (;;) {
      const found = this.deps.lookup(name);
      if (found.live || found.record?.EndpointStatus !== EndpointStatus.IN_SERVICE || Date.now() > deadline) return found;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Serves `POST /endpoints/<name>/invocations` (SageMaker Runtime InvokeEndpoint, restJson1). */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const received = process.hrtime.bigint();
    const body = await readBody(request);
    const match = /^\/endpoints\/([^/?]+)\/invocations(?:\?.*)?$/.exec(request.url ?? '');
    const name = match ? decodeURIComponent(match[1]!) : '';
    const { record, live } = await this.serving(name);
    if (request.method !== 'POST' || !match || !record) {
      sendRuntimeError(response, 400, 'ValidationError', { Message: `Endpoint ${name} of account ${this.deps.ctx.accountId} not found.` });
      return;
    }
    const serving = [EndpointStatus.IN_SERVICE, EndpointStatus.UPDATING, EndpointStatus.ROLLING_BACK] as string[];
    if (!live || live.variants.length === 0 || !serving.includes(record.EndpointStatus ?? '')) {
      sendRuntimeError(response, 400, 'ValidationError', { Message: `Endpoint ${name} is not in service (status ${record.EndpointStatus}).` });
      return;
    }
    const target = request.headers['x-amzn-sagemaker-target-variant'];
    const fleet = routeFleet(live);
    const variant = typeof target === 'string' ? [...fleet, ...live.variants, ...(live.green ?? [])].find((v) => v.name === target && !v.retired) : pickByWeight(fleet);
    if (!variant) {
      sendRuntimeError(response, 400, 'ValidationError', { Message: `Target variant ${String(target)} does not exist on endpoint ${name}.` });
      return;
    }
    const headers: Record<string, string> = { 'content-length': String(body.length) };
    for (const header of ['content-type', 'accept', 'x-amzn-sagemaker-custom-attributes']) {
      const value = request.headers[header];
      if (typeof value === 'string') headers[header] = value;
    }
    let answer: { status: number; headers: IncomingMessage['headers']; body: Buffer };
    const sent = process.hrtime.bigint();
    try {
      answer = await post(variant.port, '/invocations', headers, body);
    } catch (error) {
      sendRuntimeError(response, 424, 'ModelError', { Message: `Received server error from primary with message "${(error as Error).message}".`, OriginalStatusCode: 500, OriginalMessage: (error as Error).message, LogStreamArn: this.logGroupArn(name) });
      this.emitInvocationMetrics(name, variant, { status: 500, totalMicros: micros(received, process.hrtime.bigint()) });
      return;
    }
    const answered = process.hrtime.bigint();
    this.emitInvocationMetrics(name, variant, { status: answer.status, modelMicros: micros(sent, answered), totalMicros: micros(received, answered) });
    if (answer.status < 200 || answer.status > 299) {
      const text = answer.body.toString('utf8');
      const kind = answer.status < 500 ? 'client' : 'server';
      sendRuntimeError(response, 424, 'ModelError', {
        Message: `Received ${kind} error (${answer.status}) from primary with message "${text}". See ${this.logGroupArn(name)} in account ${this.deps.ctx.accountId} for more information.`,
        OriginalStatusCode: answer.status,
        OriginalMessage: text,
        LogStreamArn: this.logGroupArn(name),
      });
      return;
    }
    const out: Record<string, string | number> = { 'content-length': answer.body.length, 'x-amzn-invoked-production-variant': variant.name };
    const contentType = answer.headers['content-type'];
    out['content-type'] = typeof contentType === 'string' ? contentType : 'application/octet-stream';
    const custom = answer.headers['x-amzn-sagemaker-custom-attributes'];
    if (typeof custom === 'string') out['x-amzn-sagemaker-custom-attributes'] = custom;
    response.writeHead(200, out);
    response.end(answer.body);
  }

  /**
   * The AWS/SageMaker invocation metrics, per request, with dimensions EndpointName and the
   * VariantName that served it. Blue and green usually share the variant name (AllTraffic), so an
   * alarm on EndpointName + VariantName=AllTraffic sees both fleets, as AWS's "invocation errors
   * on both old and new fleets" guardrail alarm does. Errors are emitted as 0 or 1 per request so
   * that Average is the error rate and Sum the error count.
   */
  private emitInvocationMetrics(endpointName: string, variant: LiveVariant, outcome: { status: number; modelMicros?: number; totalMicros: number }): void {
    const sink = this.deps.metrics;
    if (!sink) return;
    const Dimensions = [
      { Name: 'EndpointName', Value: endpointName },
      { Name: 'VariantName', Value: variant.name },
    ];
    const Timestamp = Date.now();
    const put = (MetricName: string, Value: number, Unit: string) => sink.put({ Namespace: 'AWS/SageMaker', MetricName, Dimensions, Value, Unit, Timestamp });
    try {
      put('Invocations', 1, 'Count');
      put('InvocationsPerInstance', 1 / Math.max(variant.instanceCount, 1), 'Count');
      put('Invocation4XXErrors', outcome.status >= 400 && outcome.status < 500 ? 1 : 0, 'Count');
      put('Invocation5XXErrors', outcome.status >= 500 ? 1 : 0, 'Count');
      if (outcome.modelMicros !== undefined) put('ModelLatency', outcome.modelMicros, 'Microseconds');
      put('OverheadLatency', Math.max(outcome.totalMicros - (outcome.modelMicros ?? 0), 0), 'Microseconds');
    } catch (error) {
      this.deps.ctx.log('sagemaker: invocation metrics failed', { endpoint: endpointName, error: (error as Error).message });
    }
  }

  private logGroupArn(endpointName: string): string {
    return `arn:aws:logs:${this.deps.ctx.region}:${this.deps.ctx.accountId}:log-group:/aws/sagemaker/Endpoints/${endpointName}`;
  }
}

function micros(from: bigint, to: bigint): number {
  return Number((to - from) / 1000n);
}

function sendRuntimeError(response: ServerResponse, status: number, code: string, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': code, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
