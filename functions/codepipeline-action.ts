import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';

import { putJobFailure, putJobSuccess } from '../shared/aws/codepipeline';
import { publishEvent } from '../shared/aws/eventbridge';
import { describeExecution, startNamedExecution } from '../shared/aws/sfn';
import { startModelBuild } from '../shared/pipeline/start-build';
import { loadBuildSettings, loadConfig } from '../shared/config';
import { pushForBuild, runPipelineAction } from '../shared/deploy/pipeline-action';
import { logger } from '../shared/logger';
import { deployExecutionName, parseModelPackageArn, shortHash } from '../shared/naming';
import { codePipelineJobSchema, DETAIL_TYPES, parseEvent } from '../shared/schemas/events';

/** CodePipeline Lambda invoke action: UserParameters choose build, deploy or promote; answers with continuation tokens while the run goes on. */
const env = loadConfig('AWS_REGION', 'MODEL_DEPLOY_STATE_MACHINE_ARN', 'EVENT_BUS_NAME');
// Pipelines choose their own repositories and branches: the stage's trigger filters do not apply.
const buildSettings = loadBuildSettings(true);

export const handler = middy(async (event: unknown) => {
  const job = parseEvent(codePipelineJobSchema, event);
  const outcome = await runPipelineAction(job, {
    async startBuild(parameters) {
      const outcome = await startModelBuild(pushForBuild(parameters, job, env.AWS_REGION), buildSettings);
      return 'executionArn' in outcome ? { executionArn: outcome.executionArn } : { ignored: outcome.reason };
    },
    async startDeploy(modelPackageArn, jobId) {
      // UserParameters were validated against the same ARN pattern.
      const { group, version } = parseModelPackageArn(modelPackageArn)!;
      const name = deployExecutionName(group, version, shortHash([jobId]));
      const { executionArn } = await startNamedExecution(env.MODEL_DEPLOY_STATE_MACHINE_ARN, name, { modelPackageArn, mode: 'deploy', stages: ['staging', 'prod'], reason: `CodePipeline job ${jobId}` });
      return { executionArn };
    },
    promote: (modelPackageArn, jobId) => publishEvent(env.EVENT_BUS_NAME, DETAIL_TYPES.modelPromotionApproved, { modelPackageArn, approvedBy: `CodePipeline job ${jobId}` }, [modelPackageArn]),
    describeExecution,
    putJobSuccess,
    putJobFailure,
  });
  logger.info('pipeline job answered', { jobId: job['CodePipeline.job'].id, outcome });
  return outcome;
}).use(injectLambdaContext(logger));
