import { ModelApprovalStatus } from '@aws-sdk/client-sagemaker';

import { type Lineage, lineageFrom } from '../cli/lineage';
import { getStatus, promote, setApproval, type Status } from '../cli/status';
import type { Target } from '../cli/target';

/**
 * What the dashboard reads and changes, and nothing else: the same calls `sluice status`,
 * `lineage`, `approve`, `reject` and `promote` make, so the page never keeps a second record.
 */
export interface DashboardBackend {
  /** Where the calls go, shown on the page (an endpoint URL, or AWS). */
  readonly target: string;
  /** Runs with their steps, model versions with metrics, endpoints with what they serve (`sluice status --json`). */
  status(): Promise<Status>;
  /** A version's lineage (`<group>/<version>`, its ARN, or an endpoint serving one); throws naming what was not found. */
  lineage(reference: string): Promise<Lineage>;
  /** Approves a version (UpdateModelPackage); resolves with its ARN. Idempotent. */
  approve(reference: string, note?: string): Promise<string>;
  /** Rejects a version; resolves with its ARN. Idempotent. */
  reject(reference: string, note?: string): Promise<string>;
  /** Releases the prod gate waiting on a version (the `Model Promotion Approved` event); resolves with its ARN. */
  promote(reference: string): Promise<string>;
}

/**
 * The backend over the CLI's own functions, for `target` (the local runtime, or a deployed stage
 * found as the CLI finds it: cli/target.ts). The one place that knows how those functions are called.
 */
export function cliBackend(target: Target): DashboardBackend {
  return {
    target: target.endpoint ?? `AWS ${target.stackName} (${target.region})`,
    status: () => getStatus(target),
    lineage: async (reference) => lineageFrom(await getStatus(target), reference),
    approve: (reference, note) => setApproval(target, reference, ModelApprovalStatus.APPROVED, note),
    reject: (reference, note) => setApproval(target, reference, ModelApprovalStatus.REJECTED, note),
    promote: (reference) => promote(target, reference, 'sluice dashboard'),
  };
}
