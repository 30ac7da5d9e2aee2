import { deleteEarlyPromotion, deletePromotionToken, getEarlyPromotion, getPromotionToken, putEarlyPromotion, putPromotionToken } from '../aws/dynamodb';
import { completeTask } from '../aws/sfn';
import type { PromotionWaitInput } from '../schemas/deploy';

/** What the gate's task completes with (`$.promotion`). */
export interface Promotion {
  modelPackageArn: string;
  approvedBy: string;
  approvedAt: string;
}

/** How long a promotion that arrived before its run reached the gate is honoured. */
const EARLY_PROMOTION_SECONDS = 7 * 86_400;

/**
 * wait-for-promotion: parks the run's token under `promotion:<modelPackageArn>`, to be completed
 * by a Model Promotion Approved event; the task's own timeout (the stage's gate timeout) ends an
 * unanswered wait. A promotion that arrived earlier (while staging was still deploying) releases
 * the gate at once. Throws RetryableError on throttling. Idempotent (a retry replaces the token).
 */
export async function waitForPromotion(table: string, input: PromotionWaitInput, now = new Date()): Promise<{ modelPackageArn: string; waiting: boolean }> {
  const { modelPackageArn } = input.plan;
  const createdAt = Math.floor(now.getTime() / 1000);
  await putPromotionToken(table, { modelPackageArn, taskToken: input.taskToken, executionArn: input.executionArn, createdAt, expiresAt: createdAt + input.plan.gate.timeoutSeconds + 86_400 });
  // Checked after parking the token: an early promotion recorded before or during this call is seen
  // here or by on-promotion's own re-check, so none is lost between the two.
  const early = await getEarlyPromotion(table, modelPackageArn);
  if (!early) return { modelPackageArn, waiting: true };
  await completeTask(input.taskToken, { modelPackageArn, approvedBy: early.approvedBy, approvedAt: early.approvedAt } satisfies Promotion);
  await deletePromotionToken(table, modelPackageArn, input.taskToken);
  await deleteEarlyPromotion(table, modelPackageArn);
  return { modelPackageArn, waiting: false };
}

export type PromoteResult = 'promoted' | 'recorded-for-later' | 'already-settled';

/**
 * on-promotion: lets the run waiting at the gate for this version go on to prod. When no run waits
 * yet (staging still deploying), the promotion is recorded and honoured when the run reaches the
 * gate ('recorded-for-later', for a week). 'already-settled' for a duplicate. Throws
 * RetryableError on throttling. Idempotent.
 */
export async function promote(table: string, modelPackageArn: string, approvedBy: string, now = new Date()): Promise<PromoteResult> {
  const promotion: Promotion = { modelPackageArn, approvedBy, approvedAt: now.toISOString() };
  let token = await getPromotionToken(table, modelPackageArn);
  if (!token) {
    await putEarlyPromotion(table, { ...promotion, expiresAt: Math.floor(now.getTime() / 1000) + EARLY_PROMOTION_SECONDS });
    // The run may have parked its token meanwhile (it checks for early promotions after parking).
    token = await getPromotionToken(table, modelPackageArn);
    if (!token) return 'recorded-for-later';
  }
  const delivered = await completeTask(token.taskToken, promotion);
  await deletePromotionToken(table, modelPackageArn, token.taskToken);
  await deleteEarlyPromotion(table, modelPackageArn);
  return delivered ? 'promoted' : 'already-settled';
}
