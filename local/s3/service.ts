import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';

import S3rver from 's3rver';

import type { ServiceContext } from '../context';

/**
 * S3, locally: the well-kept s3rver emulator (filesystem store under the data directory), served
 * on the runtime's one endpoint rather than a port of its own. Path-style addressing only
 * (`<endpoint>/<bucket>/<key>`), which is how the runtime's clients are configured.
 *
 * s3rver checks SigV4 signatures against its one key pair (S3RVER/S3RVER). Signatures are not a
 * security boundary on a loopback emulator, so any access key is accepted: the credential's key id
 * is rewritten to s3rver's before the request reaches it, and mismatched signatures are allowed
 * (the rewrite itself changes what was signed).
 */

export interface S3Service {
  /** Serves one S3 REST request (the body is still unread). */
  handle(request: IncomingMessage, response: ServerResponse): void;
  /** Creates the template's buckets (missing ones only). */
  start(): Promise<void>;
}

const S3RVER_KEY = 'S3RVER';

/** Rewrites the SigV4 access key id in the Authorization header and in presigned query strings. */
export function rewriteCredential(request: IncomingMessage): void {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    request.headers.authorization = authorization.replace(/Credential=[^/,\s]+\//, `Credential=${S3RVER_KEY}/`);
  }
  if (request.url?.includes('X-Amz-Credential=')) {
    request.url = request.url.replace(/X-Amz-Credential=[^%/&]+(%2F|\/)/, `X-Amz-Credential=${S3RVER_KEY}$1`);
  }
}

/** Creates the service; objects live under `<ctx.dataDir>/objects`. */
export function createS3Service(ctx: ServiceContext, options: { buckets: string[] }): S3Service {
  const server = new S3rver({
    directory: join(ctx.dataDir, 'objects'),
    silent: true,
    allowMismatchedSignatures: true,
    configureBuckets: [...new Set(options.buckets)].map((name) => ({ name })),
  });
  const handler = server.callback();
  return {
    handle(request, response) {
      rewriteCredential(request);
      void handler(request, response);
    },
    async start() {
      await server.configureBuckets();
    },
  };
}
