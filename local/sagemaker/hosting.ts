import type { IncomingMessage, ServerResponse } from 'node:http';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { ContainerDefinition, DescribeEndpointConfigOutput, DescribeEndpointOutput, DescribeModelOutput, ProductionVariant } from '@aws-sdk/client-sagemaker';
import { EndpointStatus } from '@aws-sdk/client-sagemaker';

import type { ServiceContext } from '../context';
import { epochSeconds, type JsonOperations } from '../http/aws-json';
import { JsonStore } from '../store/json-store';
import { listPage, nameKey, optionalArray, optionalObject, optionalString, readListQuery, readTags, requireName, resourceArn, validationError } from './common';
import { planDeployment, readDeploymentConfig } from './deployment';
import { EndpointDeployments, variantSummaries } from './endpoint-deployments';
import { InvokeProxy } from './invoke-proxy';
import type { ModelRegistry } from './registry';
import type { ContainerSupervisor } from './supervisor';
import type { TagStore } from './tags';
import type { SageMakerServiceOptions, Wire } from './types';

export { DETAIL_TYPE_ENDPOINT } from './endpoint-deployments';

/**
 * Real-time hosting, locally: the API of models, endpoint configs and endpoints (their operations,
 * records and validation). Each production variant is one `<image command> serve` process with
 * SAGEMAKER_BIND_TO_PORT set and /opt/ml/model holding the extracted model.tar.gz; the endpoint is
 * InService once GET /ping answers 200, and InvokeEndpoint is proxied to the variant's
 * POST /invocations (SageMaker's hosting contract). UpdateEndpoint with a DeploymentConfig is a
 * blue/green deployment with guardrails.
 *
 * Here: the CRUD of models, endpoint configs and endpoints. Elsewhere: deploying, shifting and
 * retiring the fleets behind endpoints (endpoint-deployments.ts), the guardrails read and planned
 * (deployment.ts), the invoke proxy (invoke-proxy.ts), the fleets it routes to (fleet.ts),
 * starting and retiring a variant (variants.ts), the containers' processes (supervisor.ts, in
 * sandbox.ts's sandbox) and the HTTP side of the serving contract (serving-http.ts).
 */

type ModelDescribe = Wire<DescribeModelOutput>;
type EndpointConfigDescribe = Wire<DescribeEndpointConfigOutput>;
type EndpointDescribe = Wire<DescribeEndpointOutput>;

/** What the hosting controller works with. */
export interface HostingDependencies {
  ctx: ServiceContext;
  options: SageMakerServiceOptions;
  tags: TagStore;
  registry: ModelRegistry;
  containers: ContainerSupervisor;
}

/** Models, endpoint configs and endpoints: their operations over the deployment engine. */
export class HostingController {
  private readonly models: JsonStore<ModelDescribe>;
  private readonly configs: JsonStore<EndpointConfigDescribe>;
  private readonly endpoints: JsonStore<EndpointDescribe>;
  private readonly deployments: EndpointDeployments;
  private readonly proxy: InvokeProxy;

  constructor(private readonly deps: HostingDependencies) {
    this.models = new JsonStore(join(deps.ctx.dataDir, 'models'));
    this.configs = new JsonStore(join(deps.ctx.dataDir, 'endpoint-configs'));
    this.endpoints = new JsonStore(join(deps.ctx.dataDir, 'endpoints'));
    this.deployments = new EndpointDeployments({
      ...deps,
      model: (name) => this.models.get(nameKey(name)),
      endpoints: this.endpoints,
      endpointConfig: (name) => this.endpointConfig(name),
    });
    this.proxy = new InvokeProxy({ ctx: deps.ctx, metrics: deps.options.metrics, lookup: (name) => ({ record: this.endpoints.get(nameKey(name)), live: this.deployments.fleets(name) }) });
  }

  /** The operations this module serves. */
  operations(): JsonOperations {
    return {
      CreateModel: async (input) => this.createModel(input),
      DescribeModel: async (input) => this.model(requireName(input, 'ModelName')),
      DeleteModel: async (input) => this.deleteResource(this.models, requireName(input, 'ModelName'), 'model'),
      CreateEndpointConfig: async (input) => this.createEndpointConfig(input),
      DescribeEndpointConfig: async (input) => this.endpointConfig(requireName(input, 'EndpointConfigName')),
      DeleteEndpointConfig: async (input) => this.deleteResource(this.configs, requireName(input, 'EndpointConfigName'), 'endpoint configuration'),
      CreateEndpoint: async (input) => this.createEndpoint(input),
      DescribeEndpoint: async (input) => this.endpoint(requireName(input, 'EndpointName')),
      UpdateEndpoint: async (input) => this.updateEndpoint(input),
      DeleteEndpoint: async (input) => this.deleteEndpoint(requireName(input, 'EndpointName')),
      ListEndpoints: async (input) => this.listEndpoints(input),
      ListEndpointConfigs: async (input) => this.listConfigs(input),
      ListModels: async (input) => this.listModels(input),
    };
  }

  /** Whether `arn` names a model, endpoint config or endpoint (for AddTags/ListTags). */
  hasResource(arn: string): boolean {
    const match = /:(model|endpoint-config|endpoint)\/([^/]+)$/.exec(arn);
    if (!match) return false;
    const store = match[1] === 'model' ? this.models : match[1] === 'endpoint-config' ? this.configs : this.endpoints;
    return store.get(nameKey(match[2]!)) !== undefined;
  }

  /**
   * Boot: endpoints that were serving (or on their way) are deployed again from their config (the
   * supervisor has killed the serving processes a crash left behind).
   */
  async recover(): Promise<void> {
    await this.deployments.recover();
  }

  /** Kills every serving process group and waits for the deployments in flight. */
  async shutdown(): Promise<void> {
    await this.deployments.shutdown();
  }

  /** Serves `POST /endpoints/<name>/invocations` (SageMaker Runtime InvokeEndpoint, restJson1). */
  async handleRuntime(request: IncomingMessage, response: ServerResponse): Promise<void> {
    await this.proxy.handle(request, response);
  }

  // ---- models and endpoint configs ----

  private createModel(input: Record<string, unknown>): { ModelArn: string } {
    const name = requireName(input, 'ModelName');
    const containers = optionalArray<ContainerDefinition>(input, 'Containers');
    const primary = optionalObject<ContainerDefinition>(input, 'PrimaryContainer') ?? containers?.[0];
    if (!primary) throw validationError('CreateModel needs a PrimaryContainer (or Containers)');
    let container: ContainerDefinition = { ...primary };
    if (primary.ModelPackageName) {
      const described = this.deps.registry.describePackage(primary.ModelPackageName);
      const spec = described?.InferenceSpecification?.Containers?.[0];
      if (!spec) throw validationError(`ModelPackage ${primary.ModelPackageName} does not exist.`);
      container = { ...container, Image: container.Image ?? spec.Image, ModelDataUrl: container.ModelDataUrl ?? spec.ModelDataUrl, Environment: { ...spec.Environment, ...container.Environment } };
    }
    if (typeof container.Image !== 'string' || container.Image === '') throw validationError("1 validation error detected: Value at 'primaryContainer.image' failed to satisfy constraint: Member must not be null");
    const arn = resourceArn(this.deps.ctx, 'model', name);
    const tags = readTags(input);
    if (this.models.get(nameKey(name))) throw validationError(`Cannot create already existing model "${arn}".`);
    this.models.put(nameKey(name), {
      ModelName: name,
      ModelArn: arn,
      PrimaryContainer: container,
      ExecutionRoleArn: optionalString(input, 'ExecutionRoleArn'),
      CreationTime: epochSeconds(),
      EnableNetworkIsolation: input.EnableNetworkIsolation === true,
    });
    this.deps.tags.put(arn, tags);
    return { ModelArn: arn };
  }

  /** A model's record by name (what DescribeModel answers), undefined when there is none. */
  findModel(name: string): ModelDescribe | undefined {
    return this.models.get(nameKey(name));
  }

  private model(name: string): ModelDescribe {
    const model = this.models.get(nameKey(name));
    if (!model) throw validationError(`Could not find model "${resourceArn(this.deps.ctx, 'model', name)}".`);
    return model;
  }

  private createEndpointConfig(input: Record<string, unknown>): { EndpointConfigArn: string } {
    const name = requireName(input, 'EndpointConfigName');
    const variants = optionalArray<ProductionVariant>(input, 'ProductionVariants') ?? [];
    if (variants.length === 0) throw validationError("1 validation error detected: Value at 'productionVariants' failed to satisfy constraint: Member must have length greater than or equal to 1");
    for (const variant of variants) {
      if (typeof variant?.VariantName !== 'string' || typeof variant.ModelName !== 'string') throw validationError('ProductionVariants entries need a VariantName and a ModelName');
      this.model(variant.ModelName);
    }
    const arn = resourceArn(this.deps.ctx, 'endpoint-config', name);
    const tags = readTags(input);
    if (this.configs.get(nameKey(name))) throw validationError(`Cannot create already existing endpoint configuration "${arn}".`);
    this.configs.put(nameKey(name), { EndpointConfigName: name, EndpointConfigArn: arn, ProductionVariants: variants, CreationTime: epochSeconds() });
    this.deps.tags.put(arn, tags);
    return { EndpointConfigArn: arn };
  }

  private endpointConfig(name: string): EndpointConfigDescribe {
    const config = this.configs.get(nameKey(name));
    if (!config) throw validationError(`Could not find endpoint configuration "${resourceArn(this.deps.ctx, 'endpoint-config', name)}".`);
    return config;
  }

  private deleteResource(store: JsonStore<ModelDescribe> | JsonStore<EndpointConfigDescribe>, name: string, kind: 'model' | 'endpoint configuration'): Record<string, never> {
    const type = kind === 'model' ? 'model' : 'endpoint-config';
    const arn = resourceArn(this.deps.ctx, type, name);
    if (!store.get(nameKey(name))) throw validationError(`Could not find ${kind} "${arn}".`);
    store.delete(nameKey(name));
    this.deps.tags.delete(arn);
    return {};
  }

  // ---- endpoints ----

  private async createEndpoint(input: Record<string, unknown>): Promise<{ EndpointArn: string }> {
    const name = requireName(input, 'EndpointName');
    const configName = requireName(input, 'EndpointConfigName');
    const config = this.endpointConfig(configName);
    const arn = resourceArn(this.deps.ctx, 'endpoint', name);
    const tags = readTags(input);
    if (this.endpoints.get(nameKey(name))) throw validationError(`Cannot create already existing endpoint "${arn}".`);
    const now = epochSeconds();
    this.endpoints.put(nameKey(name), {
      EndpointName: name,
      EndpointArn: arn,
      EndpointConfigName: config.EndpointConfigName,
      ProductionVariants: variantSummaries(config, undefined),
      EndpointStatus: EndpointStatus.CREATING,
      CreationTime: now,
      LastModifiedTime: now,
    });
    this.deps.tags.put(arn, tags);
    await this.deployments.create(name, config.EndpointConfigName!);
    return { EndpointArn: arn };
  }

  private endpoint(name: string): EndpointDescribe {
    const endpoint = this.endpoints.get(nameKey(name));
    if (!endpoint) throw validationError(`Could not find endpoint "${resourceArn(this.deps.ctx, 'endpoint', name)}".`);
    return endpoint;
  }

  private async updateEndpoint(input: Record<string, unknown>): Promise<{ EndpointArn: string }> {
    const name = requireName(input, 'EndpointName');
    const configName = requireName(input, 'EndpointConfigName');
    const endpoint = this.endpoint(name);
    const config = this.endpointConfig(configName);
    const given = readDeploymentConfig(input.DeploymentConfig);
    const deployment = given ?? (input.RetainDeploymentConfig === true ? endpoint.LastDeploymentConfig : undefined);
    if (endpoint.EndpointStatus !== EndpointStatus.IN_SERVICE) {
      throw validationError(`Cannot update in-progress endpoint "${endpoint.EndpointArn}".`);
    }
    const plan = deployment ? planDeployment(deployment, config) : undefined;
    await this.deployments.update(name, configName, plan, deployment);
    return { EndpointArn: endpoint.EndpointArn! };
  }

  private async deleteEndpoint(name: string): Promise<Record<string, never>> {
    const endpoint = this.endpoint(name);
    await this.deployments.delete(name);
    this.endpoints.delete(nameKey(name));
    this.deps.tags.delete(endpoint.EndpointArn!);
    await rm(join(this.deps.ctx.dataDir, 'endpoint-instances', nameKey(name)), { recursive: true, force: true });
    return {};
  }

  /** ListEndpointConfigs: NameContains, creation-time filters, SortBy Name | CreationTime (default descending), paging. */
  private listConfigs(input: Record<string, unknown>): unknown {
    const { page, NextToken } = listPage(
      this.configs.list().map(({ value }) => value),
      (c) => ({ name: c.EndpointConfigName ?? '', creationTime: c.CreationTime ?? 0 }),
      readListQuery(input),
      'Descending',
    );
    return { EndpointConfigs: page.map((c) => ({ EndpointConfigName: c.EndpointConfigName, EndpointConfigArn: c.EndpointConfigArn, CreationTime: c.CreationTime })), NextToken };
  }

  /** ListModels: as ListEndpointConfigs. */
  private listModels(input: Record<string, unknown>): unknown {
    const { page, NextToken } = listPage(
      this.models.list().map(({ value }) => value),
      (m) => ({ name: m.ModelName ?? '', creationTime: m.CreationTime ?? 0 }),
      readListQuery(input),
      'Descending',
    );
    return { Models: page.map((m) => ({ ModelName: m.ModelName, ModelArn: m.ModelArn, CreationTime: m.CreationTime })), NextToken };
  }

  private listEndpoints(input: Record<string, unknown>): unknown {
    const { page, NextToken } = listPage(
      this.endpoints.list().map(({ value }) => value),
      (e) => ({ name: e.EndpointName ?? '', status: e.EndpointStatus, creationTime: e.CreationTime ?? 0, lastModifiedTime: e.LastModifiedTime }),
      readListQuery(input),
      'Descending',
    );
    return {
      Endpoints: page.map((e) => ({ EndpointName: e.EndpointName, EndpointArn: e.EndpointArn, CreationTime: e.CreationTime, LastModifiedTime: e.LastModifiedTime, EndpointStatus: e.EndpointStatus })),
      NextToken,
    };
  }
}
