// Tests run on Node 22, Lambda's runtime major (npm scripts use node_modules/.bin/node). On Node 20
// aws-local-stepfunctions fails every Task with a catchable TypeError, which would look like a
// workflow bug; fail loudly instead.
if (typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers !== 'function') {
  throw new Error(`tests need Node 22 (found ${process.version}): run them through npm test / npx jest after npm ci`);
}
// Unit tests never reach AWS: fixed region and dummy credentials, and no shared config files.
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
