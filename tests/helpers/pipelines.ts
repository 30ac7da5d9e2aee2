import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import aslValidator from 'asl-validator';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { parse as parseYaml } from 'yaml';

import { type CompiledPipeline, type CompileTargets, compilePipeline } from '../../shared/pipeline/compile';
import { analysePipeline } from '../../shared/pipeline/graph';
import { mlopsV2Schema, type PipelineConfig } from '../../shared/schemas/mlops-v2';
import type { StagePolicy } from '../../shared/schemas/mlops-config';
import { parseMlopsConfig } from '../../shared/schemas/parse-mlops-config';
import { fakeFunctionArn, TEST_EVENT_BUS } from './asl';
import { ROOT, TEST_POLICY, TEST_REPOSITORY } from './fixtures';

/** Helpers for tests of mlops.yaml Version 2 pipelines: fixtures, small step builders, compiling, validating. */

/** The stage policy as parseMlopsConfig takes it (a fresh, mutable copy). */
export function testPolicy(): StagePolicy & { allowedInstanceTypes: string[] } {
  return { ...TEST_POLICY, allowedInstanceTypes: [...TEST_POLICY.allowedInstanceTypes], selfApprovalRepositories: [] };
}

/** A stage's policy as serverless.yml declares it (params.default, overridden by params.<stage>). */
export function serverlessStagePolicy(stage: string): StagePolicy {
  const params = (parseYaml(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as { params: Record<string, Partial<StagePolicy>> }).params;
  const merged = { ...params.default, ...params[stage] };
  return {
    allowedInstanceTypes: [...(merged.allowedInstanceTypes ?? [])],
    maxRuntimeSeconds: Number(merged.maxRuntimeSeconds),
    maxInstanceCount: Number(merged.maxInstanceCount),
    maxVolumeSizeInGB: Number(merged.maxVolumeSizeInGB),
    selfApprovalRepositories: [...(merged.selfApprovalRepositories ?? [])],
  };
}

/** The text of tests/fixtures/pipelines/<name>.yaml. */
export function pipelineText(name: string): string {
  return readFileSync(join(ROOT, 'tests', 'fixtures', 'pipelines', `${name}.yaml`), 'utf8');
}

/** tests/fixtures/pipelines/<name>.yaml parsed by parseMlopsConfig under the test policy (a fresh object each call). */
export function loadPipeline(name: string): PipelineConfig {
  return parseMlopsConfig(pipelineText(name), testPolicy(), TEST_REPOSITORY);
}

export const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice-abalone:latest';

/** A Processing step with only what the schema requires, plus `fields`. */
export function processing(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { Type: 'Processing', AppSpecification: { ImageUri: IMAGE }, ProcessingResources: { ClusterConfig: { InstanceType: 'ml.m5.large' } }, ...fields };
}

/** A Training step reading `channels`, plus `fields`. */
export function training(channels: Record<string, unknown>, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { Type: 'Training', AlgorithmSpecification: { TrainingImage: IMAGE }, ResourceConfig: { InstanceType: 'ml.m5.large' }, Channels: channels, ...fields };
}

/** A pipeline of `steps` (in this order) and `parameters`, with the schema's defaults applied. Throws when the schema rejects it. */
export function pipelineOf(steps: Record<string, unknown>, parameters: Record<string, unknown> = {}): PipelineConfig {
  return mlopsV2Schema.parse({ Version: 2, Parameters: parameters, Steps: steps });
}

/** `count` independent Processing steps named <prefix>01, <prefix>02, … */
export function independentSteps(count: number, prefix = 'step'): Record<string, unknown> {
  return Object.fromEntries(Array.from({ length: count }, (_value, index) => [`${prefix}${String(index + 1).padStart(2, '0')}`, processing()]));
}

/** The stack's resources as a compiled pipeline sees them in tests. */
export const TEST_TARGETS: CompileTargets = {
  snapshotSourceFunctionArn: fakeFunctionArn('SnapshotSourceLambdaFunction'),
  startJobFunctionArn: fakeFunctionArn('StartJobLambdaFunction'),
  evaluateStepFunctionArn: fakeFunctionArn('EvaluateStepLambdaFunction'),
  registerModelFunctionArn: fakeFunctionArn('RegisterModelLambdaFunction'),
  eventBusName: TEST_EVENT_BUS,
};

/** Analyses and compiles a pipeline; throws when the analysis finds problems (compilePipeline's precondition). */
export function compile(config: PipelineConfig): CompiledPipeline {
  const { graph, issues } = analysePipeline(config);
  if (issues.length > 0) throw new Error(`the test pipeline is invalid: ${issues.join('; ')}`);
  return compilePipeline(config, graph, TEST_TARGETS);
}

/**
 * A copy of a JSON value made in the test's own realm. Not structuredClone: under Jest that builds
 * objects of another realm, which aws-local-stepfunctions does not take for plain objects (it then
 * leaves nested `.$` fields of Parameters unresolved).
 */
export function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** A copy of a compiled definition, as aws-local-stepfunctions types it. */
export function asDefinition(compiled: CompiledPipeline): StateMachineDefinition {
  return jsonCopy(compiled.definition) as unknown as StateMachineDefinition;
}

/** What asl-validator finds wrong with a definition (empty when valid). It is given a copy: it writes into what it validates. */
export function aslErrors(definition: Record<string, unknown>): string[] {
  const result = aslValidator(jsonCopy(definition));
  return result.isValid ? [] : [result.errorsText('\n')];
}

/** A state of a definition: its Type and whatever else it holds. */
export type AslState = Record<string, unknown> & { Type: string };

/** Every state of a definition, Parallel branches included (depth first), as [name, state]. */
export function allStates(definition: { States: unknown }): [string, AslState][] {
  return Object.entries(definition.States as Record<string, AslState>).flatMap(([name, state]): [string, AslState][] => [
    [name, state],
    ...(state.Type === 'Parallel' ? (state.Branches as { States: unknown }[]).flatMap(allStates) : []),
  ]);
}

/** Every string anywhere in a JSON value (keys included). */
export function allStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([key, inner]) => [key, ...allStrings(inner)]);
  return [];
}
