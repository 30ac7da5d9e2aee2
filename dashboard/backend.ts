import { ModelApprovalStatus } from '@aws-sdk/client-sagemaker';

import { type Lineage, lineageFrom } from '../cli/lineage';
import { getStatus, promote, setApproval, type Status } from '../cli/status';

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
 * The backend over the CLI's own functions, for `endpoint` (a local runtime or any AWS-compatible
 * endpoint; undefined: AWS through the SDK's defaults) and the service's event bus `bus`. The one
 * place that knows how those functions are called.
 */
export function cliBackend(endpoint: string | undefined, options: { bus: string }): DashboardBackend {
  return {
    target: endpoint ?? 'AWS',
    status: () => getStatus(endpoint),
    lineage: async (reference) => lineageFrom(await getStatus(endpoint), reference),
    approve: (reference, note) => setApproval(endpoint, reference, ModelApprovalStatus.APPROVED, note),
    reject: (reference, note) => setApproval(endpoint, reference, ModelApprovalStatus.REJECTED, note),
    promote: (reference) => promote(endpoint, reference, options.bus, 'sluice dashboard'),
  };
}
