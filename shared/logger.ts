import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured JSON logger for every function (Powertools). Service name and log level come
 * from the standard POWERTOOLS_SERVICE_NAME / POWERTOOLS_LOG_LEVEL variables; task tokens and
 * other secrets are never passed to it.
 */
export const logger = new Logger({ serviceName: 'sluice' });
