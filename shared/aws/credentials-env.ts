import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (serverless.yml
 * custom.esbuild.alias). Lambda always hands a function its role's credentials in the
 * environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN), and so does the
 * local runtime; the default chain's SSO, ini, process, web-identity and IMDS providers are never
 * reached there but cost ~100 KB of every bundle. Without those variables it throws
 * CredentialsProviderError naming them. Tests and tsx run from source and keep the full chain.
 */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}) => fromEnv(init);
