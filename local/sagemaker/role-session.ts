import type { ServiceContext } from '../context';
import { hostEnvironment } from './contract';
import type { ObjectStore, SageMakerServiceOptions } from './types';

/**
 * A job's or an endpoint variant's hold on its execution role, as SageMaker has it on AWS: the
 * container's AWS environment carries the role session's credentials, and SageMaker's own S3
 * transfers for it (channels, processing inputs and outputs, model artifacts, model data) go
 * through an object store acting with the same credentials, so S3 authorizes both as the role.
 */
export interface ContainerSession {
  /** The container's AWS_* variables (and the host variables it needs to start). */
  env: Record<string, string>;
  /** S3 as the role sees it. */
  objects: ObjectStore;
  /** Ends the session: its keys stop standing for the role. Idempotent. */
  end(): void;
}

/** AWS's session name for the credentials SageMaker hands a job's or an endpoint's container. */
const SESSION_NAME = 'SageMaker';

/**
 * Starts a session for `roleArn`. Without role sessions (or a role) the container gets placeholder
 * keys and transfers use the service's store as it is, as before roles were emulated.
 */
export function startContainerSession(ctx: ServiceContext, options: SageMakerServiceOptions, roleArn: string | undefined): ContainerSession {
  const issuer = options.roleSessions;
  if (!issuer || !roleArn) return { env: hostEnvironment(ctx), objects: options.objects, end: () => undefined };
  const credentials = issuer.start(roleArn, SESSION_NAME);
  const scoped = options.objects.as?.(credentials);
  let ended = false;
  return {
    env: hostEnvironment(ctx, credentials),
    objects: scoped ?? options.objects,
    end: () => {
      if (ended) return;
      ended = true;
      scoped?.close();
      issuer.end(credentials.accessKeyId);
    },
  };
}
