import type { ModelVersionStatus, RunStatus, Status } from './status';

/**
 * `sluice lineage`: where a model version came from and where it runs — commit → run (its steps) →
 * training job → model package → endpoints — starting from the version or from an endpoint that
 * serves it. Read from what `sluice status` gathers (the AWS APIs), never from a second record. Pure.
 */

export interface Lineage {
  /** `<group>/<version>`. */
  version: string;
  modelPackageArn: string;
  approval: string;
  repository?: string;
  branch?: string;
  commit?: string;
  /** The build run that registered it (its execution ARN, from the version's sluice:execution). */
  executionArn?: string;
  /** That run as `sluice status` sees it, when it is still listed. */
  run?: RunStatus;
  trainingJob?: string;
  /** Endpoints serving this version now. */
  endpoints: { name: string; status: string }[];
}

/** The version a reference names: `<group>/<version>`, a model package ARN, or an endpoint serving exactly one version. */
function versionNamed(status: Status, reference: string): ModelVersionStatus {
  const byVersion = status.modelVersions.find((candidate) => candidate.arn === reference || `${candidate.group}/${candidate.version}` === reference);
  if (byVersion) return byVersion;
  const endpoint = status.endpoints.find((candidate) => candidate.name === reference);
  if (endpoint) {
    const served = endpoint.modelVersion?.split(', ') ?? [];
    if (served.length !== 1) throw new Error(`endpoint ${reference} serves ${served.length === 0 ? 'no model version Sluice knows' : `several versions (${served.join(', ')}): name one`}`);
    const version = status.modelVersions.find((candidate) => `${candidate.group}/${candidate.version}` === served[0]);
    if (version) return version;
  }
  throw new Error(`"${reference}" is neither a model version (<group>/<version> or its ARN) nor an endpoint serving one: see "sluice status"`);
}

/** The lineage of the version `reference` names, from a status. Throws naming what was not found. */
export function lineageFrom(status: Status, reference: string): Lineage {
  const version = versionNamed(status, reference);
  const name = `${version.group}/${version.version}`;
  const metadata = version.metadata ?? {};
  const executionArn = metadata['sluice:execution'];
  const run = executionArn ? status.runs.find((candidate) => executionArn.endsWith(`:${candidate.stateMachine}:${candidate.name}`)) : undefined;
  return {
    version: name,
    modelPackageArn: version.arn,
    approval: version.approval,
    ...(metadata['sluice:repository'] ? { repository: metadata['sluice:repository'] } : {}),
    ...(metadata['sluice:branch'] ? { branch: metadata['sluice:branch'] } : {}),
    ...(metadata['sluice:commit'] ? { commit: metadata['sluice:commit'] } : {}),
    ...(executionArn ? { executionArn } : {}),
    ...(run ? { run } : {}),
    ...(metadata['sluice:training-job'] ? { trainingJob: metadata['sluice:training-job'] } : {}),
    endpoints: status.endpoints.filter((endpoint) => (endpoint.modelVersion?.split(', ') ?? []).includes(name)).map(({ name: endpointName, status: state }) => ({ name: endpointName, status: state })),
  };
}

/** Human-readable lineage, one line per link. */
export function formatLineage(lineage: Lineage): string {
  const run = lineage.run;
  const steps = run ? run.steps.map((step) => `${step.name}${step.status === 'succeeded' ? ' ✓' : step.status === 'failed' ? ' ✗' : ' …'}`).join(' → ') : '';
  return [
    `${lineage.version}  ${lineage.approval}  ${lineage.modelPackageArn}`,
    `  source    ${lineage.repository ?? '?'} ${lineage.branch ?? '?'}@${lineage.commit?.slice(0, 12) ?? '?'}`,
    `  run       ${run ? `${run.stateMachine}/${run.name}  ${run.status}  ${steps}` : (lineage.executionArn ?? '(unknown)')}`,
    `  training  ${lineage.trainingJob ?? '(none recorded)'}`,
    `  endpoints ${lineage.endpoints.length > 0 ? lineage.endpoints.map((endpoint) => `${endpoint.name} (${endpoint.status})`).join(', ') : '(none)'}`,
  ].join('\n');
}
