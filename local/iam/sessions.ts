import { randomBytes } from 'node:crypto';

import type { RoleSpec } from '../cloudformation/template';
import { type AuthorizationRequest, type Decision, evaluatePolicies } from './policy';

/**
 * Role sessions, locally: what STS and IAM do for a SageMaker container on AWS. The local
 * SageMaker starts a session for a job's (or a model's) role and hands its container the
 * temporary credentials; requests signed with them are authorized against the role's identity
 * policies from the template. Sessions live in memory only: their keys die with the job, and with
 * the runtime (a restart runs running jobs again and restarts endpoints, which start new sessions).
 *
 * Any other access key (the user's `local`, the Lambda functions') is not a session and keeps
 * full access: it stands for the deploying account's administrator, and for functions whose own
 * roles are not emulated yet. Signatures are not checked (see local/s3/service.ts): this catches
 * policy mistakes, it is not a security boundary.
 */

/** Temporary credentials, as a container reads them from AWS_ACCESS_KEY_ID/…SECRET…/…SESSION_TOKEN. */
export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** What a request may do. */
export type Authorization = { allowed: true } | { allowed: false; message: string };

/** Authorizes requests by their access key id; the seam services (S3) depend on. */
export interface RequestAuthorizer {
  /**
   * Every request must be allowed (one S3 call may need several actions, e.g. CopyObject). Keys
   * that are not role sessions are always allowed.
   */
  authorize(accessKeyId: string | undefined, requests: readonly AuthorizationRequest[]): Authorization;
  /** Whether requests with this key are judged by a role's policies (false: full access). */
  enforces(accessKeyId: string | undefined): boolean;
}

/** Condition keys the runtime supplies: the S3 ones (local/s3/authorization.ts) and these global ones. */
export const SUPPORTED_CONDITION_KEYS = ['aws:SecureTransport', 'aws:PrincipalArn', 'aws:PrincipalAccount', 'aws:PrincipalType', 'aws:RequestedRegion', 's3:prefix', 's3:delimiter', 's3:max-keys'];

interface Session {
  roleArn: string;
  /** arn:aws:sts::<account>:assumed-role/<role name>/<session name>, as AWS names the caller. */
  principal: string;
}

export class RoleSessions implements RequestAuthorizer {
  private readonly roles: Map<string, RoleSpec>;
  private readonly sessions = new Map<string, Session>();
  private readonly said = new Set<string>();

  constructor(
    roles: readonly RoleSpec[],
    private readonly options: { accountId: string; region: string; log(message: string): void },
  ) {
    this.roles = new Map(roles.map((role) => [role.arn, role]));
    for (const role of roles) {
      for (const reason of role.unresolved) options.log(`iam: role ${role.arn}: a statement is left out locally (${reason})`);
    }
  }

  /** Starts a session for `roleArn` (no check that the role exists: see authorize). Idempotent per call: every call mints new keys. */
  start(roleArn: string, sessionName: string): RoleCredentials {
    const accessKeyId = `ASIA${randomBytes(10).toString('hex').toUpperCase().slice(0, 16)}`;
    const name = roleArn.slice(roleArn.lastIndexOf('/') + 1);
    this.sessions.set(accessKeyId, { roleArn, principal: `arn:aws:sts::${this.options.accountId}:assumed-role/${name}/${sessionName}` });
    return { accessKeyId, secretAccessKey: randomBytes(30).toString('base64'), sessionToken: randomBytes(64).toString('base64') };
  }

  /** Ends a session: its keys stop being a role's (they then count as any other key would). */
  end(accessKeyId: string): void {
    this.sessions.delete(accessKeyId);
  }

  enforces(accessKeyId: string | undefined): boolean {
    return this.enforced(accessKeyId) !== undefined;
  }

  authorize(accessKeyId: string | undefined, requests: readonly AuthorizationRequest[]): Authorization {
    const enforced = this.enforced(accessKeyId);
    if (!enforced) return { allowed: true };
    const { session, role } = enforced;
    for (const managed of role.managedPolicyArns) this.once(`iam: role ${role.arn}: managed policy ${managed} is not evaluated locally (only inline Policies are)`);
    for (const request of requests) {
      const context = {
        'aws:PrincipalArn': role.arn,
        'aws:PrincipalAccount': this.options.accountId,
        'aws:PrincipalType': 'AssumedRole',
        'aws:RequestedRegion': this.options.region,
        ...request.context,
      };
      const decision = evaluatePolicies(role.policies, { ...request, context }, {
        supportedKeys: SUPPORTED_CONDITION_KEYS,
        onUnsupported: (reason) => this.once(`iam: role ${role.arn}: ${reason}`),
      });
      if (decision.effect !== 'Allow') return { allowed: false, message: deniedMessage(session.principal, request, decision) };
    }
    return { allowed: true };
  }

  /** The session and its template role, when the key is a live session of a role the template defines. */
  private enforced(accessKeyId: string | undefined): { session: Session; role: RoleSpec } | undefined {
    const session = accessKeyId === undefined ? undefined : this.sessions.get(accessKeyId);
    if (!session) return undefined;
    const role = this.roles.get(session.roleArn);
    if (!role) {
      // A role the stack does not define (made outside it, or made up by a test): its policies are unknown here.
      this.once(`iam: role ${session.roleArn} is not defined by the template; requests made with its credentials are not authorized locally`);
      return undefined;
    }
    return { session, role };
  }

  private once(message: string): void {
    if (this.said.has(message)) return;
    this.said.add(message);
    this.options.log(message);
  }
}

/**
 * S3's message for a denied same-account request:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html
 */
function deniedMessage(principal: string, request: AuthorizationRequest, decision: Decision): string {
  const why = decision.effect === 'ExplicitDeny' ? 'with an explicit deny in an identity-based policy' : `because no identity-based policy allows the ${request.action} action`;
  return `User: ${principal} is not authorized to perform: ${request.action} on resource: "${request.resource}" ${why}`;
}
