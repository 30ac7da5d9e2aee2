import { invokeEndpoint } from '../aws/sagemaker-runtime';
import { SmokeTestFailedError } from '../errors';
import type { SmokeTestPlan, StageTaskInput } from '../schemas/deploy';
import { readSmokeBody } from './smoke-body';

/** What a passed smoke test measured. */
export interface SmokeTestResult {
  endpointName: string;
  latencyMs: number;
  lines: number;
}

function nonEmptyLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '');
}

/** A response line is numeric when every comma-separated field is a finite number. Pure. */
function isNumericLine(line: string): boolean {
  return line.split(',').every((field) => field.trim() !== '' && Number.isFinite(Number(field)));
}

/**
 * Every way the response breaks the smoke test's expectations: line count, non-numeric lines
 * (numbered from 1), latency. Empty when it passes. Pure.
 */
export function smokeTestProblems(test: SmokeTestPlan, body: string, latencyMs: number): string[] {
  const problems: string[] = [];
  const lines = nonEmptyLines(body);
  if (lines.length !== test.ExpectedLines) problems.push(`expected ${test.ExpectedLines} response lines, got ${lines.length}`);
  if (test.NumericResponse) {
    const bad = lines.map((line, index) => ({ line, number: index + 1 })).filter(({ line }) => !isNumericLine(line));
    for (const { line, number } of bad.slice(0, 5)) problems.push(`line ${number} is not numeric: ${JSON.stringify(line.slice(0, 80))}`);
    if (bad.length > 5) problems.push(`${bad.length - 5} more non-numeric lines`);
  }
  if (latencyMs > test.MaxLatencyMs) problems.push(`latency ${latencyMs} ms exceeds MaxLatencyMs ${test.MaxLatencyMs} ms`);
  return problems;
}

/**
 * Reads mlops.yaml's SmokeTest body where prepare-deploy stored it, invokes the stage's endpoint
 * with it and checks the answer. Throws SmokeTestBodyChangedError when the stored body is gone or
 * not the one planned, SmokeTestFailedError naming every problem (HTTP status / ModelError, line
 * count, non-numeric line N, latency), RetryableError on throttling or 5xx. Sends one request per call.
 */
export async function runSmokeTest(input: StageTaskInput): Promise<SmokeTestResult> {
  const { smokeTest } = input.plan;
  const endpointName = input.stage.endpointName;
  const body = await readSmokeBody(smokeTest);
  const answer = await invokeEndpoint(endpointName, { body, contentType: smokeTest.ContentType, accept: smokeTest.Accept });
  if (!answer.ok) {
    throw new SmokeTestFailedError(`smoke test of ${endpointName}: the endpoint answered${answer.status ? ` HTTP ${answer.status}` : ' with an error'}: ${answer.message}`);
  }
  const problems = smokeTestProblems(smokeTest, answer.body, answer.latencyMs);
  if (problems.length > 0) throw new SmokeTestFailedError(`smoke test of ${endpointName}: ${problems.join('; ')}`);
  return { endpointName, latencyMs: answer.latencyMs, lines: nonEmptyLines(answer.body).length };
}
