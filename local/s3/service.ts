import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';

import S3rver from 's3rver';

import type { ServiceContext } from '../context';
import type { RequestAuthorizer } from '../iam/sessions';
import { authorizeS3Request, sendAccessDenied } from './authorization';
import { fixDelimitedListing } from './list-objects';
import { BucketNotifications, toEventBridgeEntry } from './notifications';

/**
 * S3, locally: the well-kept s3rver emulator (filesystem store under the data directory), served
 * on the runtime's one endpoint rather than a port of its own. Path-style addressing only
 * (`<endpoint>/<bucket>/<key>`), which is how the runtime's clients are configured.
 *
 * s3rver checks SigV4 signatures against its one key pair (S3RVER/S3RVER). Signatures are not a
 * security boundary on a loopback emulator, so any access key is accepted: the credential's key id
 * is rewritten to s3rver's before the request reaches it, and mismatched signatures are allowed
 * (the rewrite itself changes what was signed).
 *
 * Authorization: a request signed with a role session's key (a SageMaker container's, or the local
 * SageMaker's own transfers for a job) is checked against that role's identity policies before it
 * reaches s3rver, and denied with S3's AccessDenied (local/s3/authorization.ts). Other keys are
 * not checked (local/iam/sessions.ts says why).
 *
 * Listings with a delimiter (`aws s3 ls`) are grouped here, not by s3rver, which drops common
 * prefixes whose keys sit deeper than one level (local/s3/list-objects.ts).
 *
 * Buckets with EventBridge notifications enabled put `Object Created` / `Object Deleted` events
 * on the default bus, as S3 does (local/s3/notifications.ts).
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

/**
 * Creates the service; objects live under `<ctx.dataDir>/objects`. `eventBridgeBuckets` send their
 * object events to EventBridge (others may be switched on by PutBucketNotificationConfiguration).
 */
export function createS3Service(ctx: ServiceContext, options: { buckets: string[]; eventBridgeBuckets?: string[]; authorizer?: RequestAuthorizer }): S3Service {
  const server = new S3rver({
    directory: join(ctx.dataDir, 'objects'),
    silent: true,
    allowMismatchedSignatures: true,
    configureBuckets: [...new Set(options.buckets)].map((name) => ({ name })),
  });
  fixDelimitedListing(server.store);
  const notifications = new BucketNotifications(ctx.dataDir, options.eventBridgeBuckets ?? []);
  server.on('event', (notification) => {
    for (const record of notification.Records) {
      const entry = notifications.sendsToEventBridge(record.s3.bucket.name) ? toEventBridgeEntry(record, ctx.accountId) : undefined;
      if (entry) ctx.publishEvent(entry).catch((error: unknown) => ctx.log('s3: event not published', { bucket: record.s3.bucket.name, error: String(error) }));
    }
  });
  const handler = server.callback();
  return {
    handle(request, response) {
      if (options.authorizer) {
        const decision = authorizeS3Request(request, options.authorizer);
        if (!decision.allowed) {
          ctx.log('s3: access denied', { method: request.method, path: request.url?.split('?')[0], reason: decision.message });
          sendAccessDenied(request, response, decision.message);
          return;
        }
      }
      void (async () => {
        if (await notifications.handle(request, response)) return;
        rewriteCredential(request);
        await handler(request, response);
      })().catch((error: unknown) => {
        ctx.log('s3: request failed', { method: request.method, path: request.url?.split('?')[0], error: String(error) });
        response.destroy();
      });
    },
    async start() {
      await server.configureBuckets();
    },
  };
}
