import { join } from 'node:path';

import type { ServiceContext } from '../context';
import { AwsServiceError, type JsonOperations, requireString } from '../http/aws-json';
import { listPage, optionalArray, readListQuery, readTags, validationError } from './common';
import { HostingController } from './hosting';
import { JobController } from './jobs';
import { ModelRegistry } from './registry';
import { ContainerSupervisor } from './supervisor';
import { TagStore } from './tags';
import type { SageMakerService, SageMakerServiceOptions } from './types';

export type { HostingMetricDatum, ObjectStore, ResolvedImage, ResolveImage, SageMakerService, SageMakerServiceOptions } from './types';

/**
 * SageMaker, locally: processing, training and batch transform jobs run as local processes under
 * SageMaker's container contracts, hyperparameter tuning jobs over those training jobs, the Model Registry, and real-time endpoints (`serve` processes behind
 * InvokeEndpoint), over the JSON protocol the SDK v3 client speaks
 * (X-Amz-Target `SageMaker.<Operation>`). State is durable under `ctx.dataDir`.
 */
export function createSageMakerService(ctx: ServiceContext, options: SageMakerServiceOptions): SageMakerService {
  const tags = new TagStore(join(ctx.dataDir, 'tags'));
  const containers = new ContainerSupervisor({
    sandbox: options.sandbox,
    directory: join(ctx.dataDir, 'containers'),
    stopGraceSeconds: options.stopGraceSeconds,
    shutdownGraceSeconds: options.shutdownGraceSeconds,
  });
  const registry = new ModelRegistry(ctx, tags);
  const hosting = new HostingController({ ctx, options, tags, registry, containers });
  const jobs = new JobController({ ctx, options, tags, containers }, (name) => hosting.findModel(name));
  const knows = (arn: string) => jobs.hasResource(arn) || registry.hasResource(arn) || hosting.hasResource(arn);
  const requireResource = (input: Record<string, unknown>): string => {
    const arn = requireString(input, 'ResourceArn');
    if (!knows(arn)) throw new AwsServiceError('ResourceNotFound', `Resource ${arn} does not exist.`);
    return arn;
  };

  const operations: JsonOperations = {
    ...jobs.operations(),
    ...registry.operations(),
    ...hosting.operations(),
    AddTags: async (input) => {
      const arn = requireResource(input);
      const added = readTags(input);
      if (added.length === 0) throw validationError("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1");
      tags.add(arn, added);
      return { Tags: added };
    },
    ListTags: async (input) => {
      const arn = requireResource(input);
      const { page, NextToken } = listPage(tags.get(arn), (tag) => ({ name: tag.Key, creationTime: 0 }), { ...readListQuery(input), SortBy: 'Name', MaxResults: (input.MaxResults as number | undefined) ?? 50 });
      return { Tags: page, NextToken };
    },
    DeleteTags: async (input) => {
      const arn = requireResource(input);
      const keys = optionalArray<string>(input, 'TagKeys') ?? [];
      tags.put(
        arn,
        tags.get(arn).filter((tag) => !keys.includes(tag.Key)),
      );
      return {};
    },
  };

  return {
    operations,
    handleRuntime: (request, response) => hosting.handleRuntime(request, response),
    start: async () => {
      containers.recover();
      await jobs.recover();
      await hosting.recover();
    },
    stop: async () => {
      await Promise.all([jobs.shutdown(), hosting.shutdown()]);
      // Anything the controllers no longer track (e.g. a variant between deploy and watch).
      await containers.shutdown();
    },
  };
}
