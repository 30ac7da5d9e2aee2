import type { ConditionResult, FailResult, StepTaskInput } from '../schemas/task-inputs';
import { loadPipeline, stepOf, valueContext } from './stored-pipeline';
import { evaluateCondition, resolveText } from './values';

/**
 * The steps that run no job: a Condition is evaluated (its outcome chooses the branch in the
 * state machine's Choice), a Fail step's message is built (its Fail state ends the run with it).
 * Both read parameters, report values and step properties of the run.
 */

/**
 * Evaluates a Condition step or builds a Fail step's error and message. Throws InvalidConfigError
 * or MetricNotFoundError naming the field when a value cannot be resolved, RetryableError on
 * throttling. Read-only, so idempotent.
 */
export async function evaluateStep(input: StepTaskInput): Promise<ConditionResult | FailResult> {
  const pipeline = await loadPipeline(input.build.pipelineUri);
  const spec = stepOf(pipeline, input.step, ['Condition', 'Fail'] as const);
  const ctx = valueContext(pipeline, input);
  if (spec.Type === 'Fail') {
    return { Type: 'Fail', Error: spec.Error, Cause: await resolveText(spec.ErrorMessage, ctx, `Steps.${input.step}.ErrorMessage`) };
  }
  const { outcome, values } = await evaluateCondition(spec.Condition, ctx, `Steps.${input.step}.Condition`);
  return { Type: 'Condition', Outcome: outcome, Values: values };
}
