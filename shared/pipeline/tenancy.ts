import { matchesAny } from '../config';
import { shortHash, toSageMakerSlug } from '../naming';

/**
 * What a repository may claim on a stage it shares with other repositories: model package groups in
 * its own namespace only, and self-approval only where the stage grants it. Checked at push (the
 * file's fields, named) and again by register-model (the group's owner tag, the approval status),
 * so a pipeline stored before a stage setting changed cannot get around it. Pure.
 */

/** Between a repository's name and the name of one of its further groups: `abalone--fast`. Slugs never contain it. */
export const GROUP_NAMESPACE_SEPARATOR = '--';

/** The tag every group Sluice creates carries, naming the repository that owns it. */
export const GROUP_OWNER_TAG = 'sluice:repository';

/** The stage's rules on what a repository may claim. */
export interface TenancyPolicy {
  /** Repositories (globs, `*` wildcard) whose files may register versions as Approved; none by default. */
  selfApprovalRepositories: readonly string[];
}

/** One registration a pipeline makes: where its fields are in the file, the group it names, its approval status. */
export interface Registration {
  /** The field path holding the registration (`Steps.register`, or Version 1's `Register`). */
  field: string;
  group: string | undefined;
  approval: string;
}

/** The repository's own namespace: its name as SageMaker's alphabet allows (its default group). */
export function repositoryNamespace(repository: string): string {
  return toSageMakerSlug(repository, 63);
}

/**
 * Why `configured` is not a group of `repository`'s, or undefined. A repository's groups are named
 * after it (`abalone`) or start with its name and `--` (`abalone--fast`); the separator is what
 * keeps `abalone` out of repository `abalone-age`'s group. Compared without case, as SageMaker names are.
 */
export function groupNamespaceIssue(field: string, repository: string, configured: string): string | undefined {
  const own = repositoryNamespace(repository).toLowerCase();
  const name = configured.toLowerCase();
  if (name === own || (name.startsWith(`${own}${GROUP_NAMESPACE_SEPARATOR}`) && name.length > own.length + GROUP_NAMESPACE_SEPARATOR.length)) return undefined;
  return `${field}: "${configured}" is not a group of repository ${repository}: a repository registers only into its own groups, "${repositoryNamespace(repository)}" or "${repositoryNamespace(repository)}${GROUP_NAMESPACE_SEPARATOR}<name>"`;
}

/** Whether the stage lets `repository` register its versions as Approved. */
export function maySelfApprove(repository: string, policy: TenancyPolicy): boolean {
  return matchesAny(repository, policy.selfApprovalRepositories);
}

/** Why a registration's approval status is not the repository's to choose, or undefined. */
export function selfApprovalIssue(field: string, repository: string, approval: string, allowed: boolean): string | undefined {
  if (approval !== 'Approved' || allowed) return undefined;
  return `${field}: "Approved" would deploy ${repository}'s versions without review, and this stage does not let ${repository} approve its own versions (stage setting selfApprovalRepositories): register as PendingManualApproval`;
}

/** The tenancy problems of a pipeline's registrations, each naming its field. */
export function tenancyIssues(registrations: readonly Registration[], repository: string, selfApprovalAllowed: boolean): string[] {
  return registrations.flatMap(({ field, group, approval }) => [
    group === undefined ? undefined : groupNamespaceIssue(`${field}.ModelPackageGroupName`, repository, group),
    selfApprovalIssue(`${field}.ModelApprovalStatus`, repository, approval, selfApprovalAllowed),
  ]).filter((issue): issue is string => issue !== undefined);
}

/** The execution roles of a stage: one shared, and one for each repository listed by name (when the stack created them). */
export interface ExecutionRoles {
  /** The stage's role (sagemakerRoleArn, or the stack's SageMakerExecutionRole): repositories without their own. */
  roleArn: string;
  repositoryRoles?: {
    /** `arn:<partition>:iam::<account>:role/<service>-<stage>-job-`. */
    arnPrefix: string;
    /** The repositories that have one. */
    repositories: readonly string[];
  };
}

/**
 * The role a repository's jobs and endpoints run as: its own, `<prefix><10 hex of its name>` (the
 * stack creates it for each repository `repositories` lists by name: events/stage-params.js
 * repositoryRoleResources), which reaches only its own `builds/<repository key>/`; else the stage's
 * shared role. Pure.
 */
export function executionRoleArn(repository: string, roles: ExecutionRoles): string {
  const own = roles.repositoryRoles;
  return own && own.repositories.includes(repository) ? `${own.arnPrefix}${shortHash([repository], 10)}` : roles.roleArn;
}
