import { CreateModelCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';

/**
 * Floor for `npm run bench`: the smallest thing a function that calls AWS bundles — one SDK v3
 * client created at module scope (as shared/aws does) and one command. No Sluice code, no zod,
 * no logger. Compare with the budgets: what this costs, every function costs at least.
 */
const client = new SageMakerClient({});

export const handler = async (input: { ModelName: string }) => client.send(new CreateModelCommand({ ModelName: input.ModelName }));
