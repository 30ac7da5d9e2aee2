import { deletePromotionToken, getPromotionToken, putPromotionToken } from '../aws/dynamodb';
import { completeTask } from '../aws/sfn';
import type { PromotionWaitInput } from '../schemas/deploy';

/** What the gate's task completes with (`$.promotion`). */
export interface Promotion {
  modelPackageArn: string;
  approvedBy: string;
  approvedAt: string;
}

/**
 * wait-for-promotion: parks the run's token under `promotion:<modelPackageArn>`, to be completed
 * by a Model Promotion Approved event; the task's own timeout (the stage's gate timeout) ends an
 * unanswered wait. Throws RetryableError on throttling. Idempotent (a retry replaces the token).
 */
export async function waitForPromotion(table: string, input: PromotionWaitInput, now = new Date()): Promise<{ modelPackageArn: string; waiting: true }> {
  const createdAt = Math.floor(now.getTime() / 1000);
  await putPromotionToken(table, {
    modelPackageArn: input.plan.modelPackageArn,
    taskToken: input.taskToken,
    executionArn: input.executionArn,
    createdAt,
    expiresAt: createdAt + input.plan.gate.timeoutSeconds + 86_400,
  });
  return { modelPackageArn: input.plan.modelPackageArn, waiting: true };
}

export type PromoteResult = 'promoted' | 'no-run-waiting' | 'already-settled';

/**
 * on-promotion: lets the run waiting at the gate for this version go on to prod. Returns
 * 'no-run-waiting' when none waits (nothing to do), 'already-settled' for a duplicate. Throws
 * RetryableError on throttling. Idempotent.
 */
export async function promote(table: string, modelPackageArn: string, approvedBy: string, now = new Date()): Promise<PromoteResult> {
  const token = await getPromotionToken(table, modelPackageArn);
  if (!token) return 'no-run-waiting';
  const promotion: Promotion = { modelPackageArn, approvedBy, approvedAt: now.toISOString() };
  const delivered = await completeTask(token.taskToken, promotion);
  await deletePromotionToken(table, modelPackageArn, token.taskToken);
  return delivered ? 'promoted' : 'already-settled';
}
