import type { IncomingMessage, ServerResponse } from 'node:http';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { ContainerDefinition, DescribeEndpointConfigOutput, DescribeEndpointOutput, DescribeModelOutput, ProductionVariant } from '@aws-sdk/client-sagemaker';
import { EndpointStatus, VariantStatus } from '@aws-sdk/client-sagemaker';

import type { ServiceContext } from '../context';
import { epochSeconds, type JsonOperations } from '../http/aws-json';
import { JsonStore } from '../store/json-store';
import {
  eventDetail,
  listPage,
  nameKey,
  optionalArray,
  optionalObject,
  optionalString,
  publishSageMakerEvent,
  readListQuery,
  readTags,
  requireName,
  resourceArn,
  validationError,
} from './common';
import { type DeploymentPlan, planDeployment, readDeploymentConfig } from './deployment';
import type { LiveEndpoint, LiveVariant } from './fleet';
import { InvokeProxy } from './invoke-proxy';
import type { ModelRegistry } from './registry';
import { ping } from './serving-http';
import { type ContainerSupervisor, SHUTDOWN_GRACE_SECONDS } from './supervisor';
import type { TagStore } from './tags';
import { DeploymentFailure, retireVariant, startFleet, type VariantDependencies } from './variants';
import type { SageMakerServiceOptions, Wire } from './types';

/**
 * Real-time hosting, locally: models, endpoint configs and endpoints. Each production variant is
 * one `<image command> serve` process with SAGEMAKER_BIND_TO_PORT set and /opt/ml/model holding
 * the extracted model.tar.gz; the endpoint is InService once GET /ping answers 200, and
 * InvokeEndpoint is proxied to the variant's POST /invocations (SageMaker's hosting contract).
 *
 * UpdateEndpoint with a DeploymentConfig is a blue/green deployment with guardrails: the new
 * (green) fleet comes up beside the old (blue) one, traffic shifts per the
 * TrafficRoutingConfiguration (CANARY, LINEAR, ALL_AT_ONCE) with a baking period after each step,
 * and an AutoRollbackConfiguration alarm in ALARM, a failing GET /ping or an exited container on
 * the green fleet rolls all traffic back to blue (Updating → RollingBack → InService, with the
 * FailureReason). Each InvokeEndpoint emits the AWS/SageMaker invocation metrics for the variant
 * that served it.
 *
 * Here: the CRUD of models, endpoint configs and endpoints, and deployments (create, update,
 * blue/green, rollback). Elsewhere: the invoke proxy (invoke-proxy.ts), the fleets it routes to
 * (fleet.ts), starting and retiring a variant (variants.ts), the containers' processes
 * (supervisor.ts, in sandbox.ts's sandbox) and the HTTP side of the serving contract (serving-http.ts).
 */

type ModelDescribe = Wire<DescribeModelOutput>;
type EndpointConfigDescribe = Wire<DescribeEndpointConfigOutput>;
type EndpointDescribe = Wire<DescribeEndpointOutput>;

/** EventBridge detail-type of endpoint events (source aws.sagemaker). */
export const DETAIL_TYPE_ENDPOINT = 'SageMaker Endpoint State Change';

/** The endpoint event spells statuses like `IN_SERVICE` (AWS's example), not the API's `InService`. */
const EVENT_STATUS: Record<string, string> = {
  [EndpointStatus.CREATING]: 'CREATING',
  [EndpointStatus.IN_SERVICE]: 'IN_SERVICE',
  [EndpointStatus.UPDATING]: 'UPDATING',
  [EndpointStatus.FAILED]: 'FAILED',
  [EndpointStatus.DELETING]: 'DELETING',
  [EndpointStatus.ROLLING_BACK]: 'ROLLING_BACK',
};

const DEFAULT_BAKE_POLL_MS = 250;

/** What the hosting controller works with. */
export interface HostingDependencies {
  ctx: ServiceContext;
  options: SageMakerServiceOptions;
  tags: TagStore;
  registry: ModelRegistry;
  containers: ContainerSupervisor;
}


/** Models, endpoint configs and endpoints; one `serve` process per live production variant. */
export class HostingController {
  private readonly models: JsonStore<ModelDescribe>;
  private readonly configs: JsonStore<EndpointConfigDescribe>;
  private readonly endpoints: JsonStore<EndpointDescribe>;
  private readonly live = new Map<string, LiveEndpoint>();
  private readonly tasks = new Set<Promise<void>>();
  private shuttingDown = false;
  private readonly proxy: InvokeProxy;
  private readonly variantDeps: VariantDependencies;

  constructor(private readonly deps: HostingDependencies) {
    this.variantDeps = { ...deps, model: (name) => this.models.get(nameKey(name)) };
    this.proxy = new InvokeProxy({ ctx: deps.ctx, metrics: deps.options.metrics, lookup: (name) => ({ record: this.endpoints.get(nameKey(name)), live: this.live.get(nameKey(name)) }) });
    this.models = new JsonStore(join(deps.ctx.dataDir, 'models'));
    this.configs = new JsonStore(join(deps.ctx.dataDir, 'endpoint-configs'));
    this.endpoints = new JsonStore(join(deps.ctx.dataDir, 'endpoints'));
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
    for (const { value } of this.endpoints.list()) {
      const status = value.EndpointStatus;
      if (status === EndpointStatus.UPDATING || status === EndpointStatus.ROLLING_BACK) {
        // An update in flight when the runtime stopped: the old config comes back, as a rollback would.
        const reason = `The local runtime restarted while the endpoint was updating to ${value.PendingDeploymentSummary?.EndpointConfigName ?? 'a new endpoint configuration'}; the endpoint is back on ${value.EndpointConfigName}.`;
        this.launch(() => this.bringUp(value.EndpointName!, value.EndpointConfigName!, 'restart', reason));
        continue;
      }
      if (status !== EndpointStatus.IN_SERVICE && status !== EndpointStatus.CREATING) continue;
      this.launch(() => this.bringUp(value.EndpointName!, value.EndpointConfigName!, status === EndpointStatus.IN_SERVICE ? 'restart' : 'create'));
    }
  }

  /** Kills every serving process group and waits for the deployments in flight. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    const grace = (this.deps.options.shutdownGraceSeconds ?? SHUTDOWN_GRACE_SECONDS) * 1000;
    const exits: Promise<unknown>[] = [];
    for (const endpoint of this.live.values()) for (const variant of [...endpoint.variants, ...(endpoint.green ?? [])]) exits.push(this.retire(variant, grace));
    this.live.clear();
    await Promise.allSettled([...exits, ...this.tasks]);
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
    await this.publish(name);
    this.launch(() => this.bringUp(name, config.EndpointConfigName!, 'create'));
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
    const startTime = epochSeconds();
    this.change(name, {
      EndpointStatus: EndpointStatus.UPDATING,
      PendingDeploymentSummary: pendingSummary(config, undefined, 0, VariantStatus.CREATING, startTime),
      ...(deployment ? { LastDeploymentConfig: deployment } : {}),
    });
    await this.publish(name);
    this.launch(() => (plan ? this.blueGreen(name, configName, plan, startTime) : this.bringUp(name, configName, 'update')));
    return { EndpointArn: endpoint.EndpointArn! };
  }

  private async deleteEndpoint(name: string): Promise<Record<string, never>> {
    const endpoint = this.endpoint(name);
    this.change(name, { EndpointStatus: EndpointStatus.DELETING });
    await this.publish(name);
    const live = this.live.get(nameKey(name));
    this.live.delete(nameKey(name));
    await Promise.all([...(live?.variants ?? []), ...(live?.green ?? [])].map((variant) => this.retire(variant)));
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

  /**
   * Deploys `configName`'s variants for the endpoint. Create: InService or Failed. Update: the
   * new variants replace the old ones once healthy; if they fail, the old ones keep serving and
   * the endpoint returns to InService with the FailureReason (SageMaker's rollback). Restart: as
   * create, but a failure marks the endpoint Failed.
   */
  private async bringUp(name: string, configName: string, mode: 'create' | 'update' | 'restart', recoveredReason?: string): Promise<void> {
    let variants: LiveVariant[];
    try {
      variants = await this.deploy(name, this.endpointConfig(configName));
    } catch (error) {
      if (this.shuttingDown || !this.endpoints.get(nameKey(name))) return;
      const reason = error instanceof DeploymentFailure ? error.message : `InternalServerError: ${(error as Error).message}`;
      this.change(name, { EndpointStatus: mode === 'update' ? EndpointStatus.IN_SERVICE : EndpointStatus.FAILED, FailureReason: reason, PendingDeploymentSummary: undefined });
      await this.publish(name);
      return;
    }
    if (this.shuttingDown || !this.endpoints.get(nameKey(name))) {
      await Promise.all(variants.map((variant) => this.retire(variant)));
      return;
    }
    const previous = this.live.get(nameKey(name));
    this.live.set(nameKey(name), { variants, greenShare: 0, routed: 0 });
    for (const variant of variants) this.watch(name, variant);
    await Promise.all([...(previous?.variants ?? []), ...(previous?.green ?? [])].map((variant) => this.retire(variant)));
    const config = this.endpointConfig(configName);
    const failure: Partial<EndpointDescribe> = recoveredReason ? { FailureReason: recoveredReason } : mode === 'restart' ? {} : { FailureReason: undefined };
    this.change(name, { EndpointStatus: EndpointStatus.IN_SERVICE, EndpointConfigName: config.EndpointConfigName, ProductionVariants: variantSummaries(config, variants), PendingDeploymentSummary: undefined, ...failure });
    await this.publish(name);
  }

  /**
   * A blue/green deployment with guardrails (see the module comment). The endpoint record keeps
   * the old EndpointConfigName until the new fleet has taken all traffic and passed its bakes.
   */
  private async blueGreen(name: string, configName: string, plan: DeploymentPlan, startTime: number): Promise<void> {
    const key = nameKey(name);
    const config = this.endpointConfig(configName);
    const deadline = plan.maximumExecutionMs !== undefined ? Date.now() + plan.maximumExecutionMs : undefined;
    let green: LiveVariant[];
    try {
      green = await this.deploy(name, config);
    } catch (error) {
      if (this.shuttingDown || !this.endpoints.get(key)) return;
      const reason = error instanceof DeploymentFailure ? error.message : `InternalServerError: ${(error as Error).message}`;
      this.change(name, { EndpointStatus: EndpointStatus.IN_SERVICE, FailureReason: reason, PendingDeploymentSummary: undefined });
      await this.publish(name);
      return;
    }
    const live = this.live.get(key);
    if (this.shuttingDown || !this.endpoints.get(key) || !live) {
      await Promise.all(green.map((variant) => this.retire(variant)));
      return;
    }
    live.green = green;
    const setShare = (share: number, status: VariantStatus, message: string) => {
      live.greenShare = share;
      live.routed = 0;
      this.change(name, { PendingDeploymentSummary: pendingSummary(config, green, share, status, startTime, message) });
      this.deps.ctx.log('sagemaker: blue/green deployment', { endpoint: name, endpointConfig: configName, trafficOnNewFleet: `${Math.round(share * 1000) / 10}%`, status });
    };

    let failure: string | undefined;
    for (const step of plan.steps) {
      setShare(step.share, VariantStatus.ACTIVATING_TRAFFIC, `Routing ${percent(step.share)} of traffic to the new fleet.`);
      if (!step.bake) continue;
      setShare(step.share, VariantStatus.BAKING, `Baking for ${plan.waitMs / 1000} s with ${percent(step.share)} of traffic on the new fleet.`);
      failure = await this.bake(name, live, plan, plan.waitMs, deadline);
      if (failure) break;
    }
    if (!failure && plan.terminationWaitMs > 0) failure = await this.bake(name, live, plan, plan.terminationWaitMs, deadline);
    if (this.shuttingDown || this.live.get(key) !== live || !this.endpoints.get(key)) failure = ABORTED;

    if (failure === ABORTED) {
      // Deleted, stopped, or the old fleet failed: whoever did that retired the live fleets; make sure of green.
      await Promise.all(green.filter((variant) => !variant.retired).map((variant) => this.retire(variant)));
      return;
    }
    if (failure) {
      await this.rollBack(name, live, green, failure);
      return;
    }
    const blue = live.variants;
    live.variants = green;
    live.green = undefined;
    live.greenShare = 0;
    live.routed = 0;
    for (const variant of green) this.watch(name, variant);
    await Promise.all(blue.map((variant) => this.retire(variant)));
    if (!this.endpoints.get(key)) return;
    this.change(name, { EndpointStatus: EndpointStatus.IN_SERVICE, EndpointConfigName: config.EndpointConfigName, ProductionVariants: variantSummaries(config, green), FailureReason: undefined, PendingDeploymentSummary: undefined });
    await this.publish(name);
  }

  /**
   * One baking period: polls the rollback alarms and the new fleet's health every bakePollMs.
   * Returns why to roll back, ABORTED when the deployment is moot, or undefined when it passed.
   */
  private async bake(name: string, live: LiveEndpoint, plan: DeploymentPlan, durationMs: number, deadline: number | undefined): Promise<string | undefined> {
    const key = nameKey(name);
    const pollMs = this.deps.options.bakePollMs ?? DEFAULT_BAKE_POLL_MS;
    const end = Date.now() + durationMs;
    const shifted = percent(live.greenShare);
    for (;;) {
      if (this.shuttingDown || this.live.get(key) !== live || !this.endpoints.get(key) || !live.green) return ABORTED;
      const tripped = plan.alarms.filter((alarm) => this.deps.options.alarms?.state(alarm) === 'ALARM');
      if (tripped.length > 0) {
        return `Deployment rolled back: CloudWatch alarm${tripped.length === 1 ? '' : 's'} ${tripped.join(', ')} went into ALARM state while ${shifted} of traffic was on the new fleet.`;
      }
      const exited = live.green.find((variant) => variant.exitReason !== undefined);
      if (exited) return `Deployment rolled back: the container for production variant ${exited.name} of the new fleet exited (${exited.exitReason}) while ${shifted} of traffic was on it.`;
      const statuses = await Promise.all(live.green.map((variant) => ping(variant.port)));
      const unhealthy = live.green.findIndex((_, index) => statuses[index] !== 200);
      if (unhealthy >= 0 && live.green && this.live.get(key) === live) {
        const status = statuses[unhealthy];
        return `Deployment rolled back: production variant ${live.green[unhealthy]!.name} of the new fleet failed the ping health check (GET /ping ${status ? `answered ${status}` : 'did not answer'}) while ${shifted} of traffic was on it.`;
      }
      const now = Date.now();
      if (deadline !== undefined && now > deadline) return `Deployment rolled back: it did not complete within MaximumExecutionTimeoutInSeconds (${plan.maximumExecutionMs! / 1000} s).`;
      if (now >= end) return undefined;
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, end - now)));
    }
  }

  /** All traffic back to the old fleet, the new one stopped: Updating → RollingBack → InService. */
  private async rollBack(name: string, live: LiveEndpoint, green: LiveVariant[], reason: string): Promise<void> {
    this.deps.ctx.log('sagemaker: rolling back', { endpoint: name, reason });
    live.greenShare = 0;
    live.routed = 0;
    this.change(name, { EndpointStatus: EndpointStatus.ROLLING_BACK, FailureReason: reason });
    await this.publish(name);
    live.green = undefined;
    await Promise.all(green.map((variant) => this.retire(variant)));
    if (!this.endpoints.get(nameKey(name)) || this.live.get(nameKey(name)) !== live) return;
    this.change(name, { EndpointStatus: EndpointStatus.IN_SERVICE, FailureReason: reason, PendingDeploymentSummary: undefined });
    await this.publish(name);
  }

  /** A serving process that dies on its own takes the endpoint to Failed. */
  private watch(name: string, variant: LiveVariant): void {
    void variant.child.done.then(async (exit) => {
      if (variant.retired || this.shuttingDown) return;
      const live = this.live.get(nameKey(name));
      if (!live?.variants.includes(variant)) return;
      this.live.delete(nameKey(name));
      await Promise.all([...live.variants, ...(live.green ?? [])].map((other) => this.retire(other)));
      this.change(name, { EndpointStatus: EndpointStatus.FAILED, PendingDeploymentSummary: undefined, FailureReason: `The container for production variant ${variant.name} exited (${exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal}`}): ${exit.stderrTail.trim().slice(-512)}` });
      await this.publish(name);
    });
  }

  private async deploy(name: string, config: EndpointConfigDescribe): Promise<LiveVariant[]> {
    return startFleet(this.variantDeps, name, config);
  }

  private async retire(variant: LiveVariant, graceMs?: number): Promise<void> {
    await retireVariant(variant, graceMs);
  }

  private launch(run: () => Promise<void>): void {
    const task: Promise<void> = run()
      .catch((error: unknown) => this.deps.ctx.log('sagemaker: endpoint deployment failed', { error: (error as Error).message }))
      .finally(() => this.tasks.delete(task));
    this.tasks.add(task);
  }

  private change(name: string, fields: Partial<EndpointDescribe>): void {
    const endpoint = this.endpoints.get(nameKey(name));
    if (!endpoint) return;
    const next: EndpointDescribe = { ...endpoint, ...fields, LastModifiedTime: epochSeconds() };
    if (fields.FailureReason === undefined && 'FailureReason' in fields) delete next.FailureReason;
    this.endpoints.put(nameKey(name), next);
  }

  private async publish(name: string): Promise<void> {
    const endpoint = this.endpoints.get(nameKey(name));
    if (!endpoint) return;
    const detail = eventDetail(endpoint, this.deps.tags.get(endpoint.EndpointArn!));
    detail.EndpointStatus = EVENT_STATUS[endpoint.EndpointStatus ?? ''] ?? endpoint.EndpointStatus;
    await publishSageMakerEvent(this.deps.ctx, DETAIL_TYPE_ENDPOINT, endpoint.EndpointArn!, detail);
  }
}

function variantSummaries(config: EndpointConfigDescribe, live: LiveVariant[] | undefined): EndpointDescribe['ProductionVariants'] {
  return (config.ProductionVariants ?? []).map((variant) => {
    const count = variant.InitialInstanceCount ?? 1;
    const weight = variant.InitialVariantWeight ?? 1;
    return {
      VariantName: variant.VariantName,
      CurrentWeight: live ? weight : undefined,
      DesiredWeight: weight,
      CurrentInstanceCount: live ? count : undefined,
      DesiredInstanceCount: count,
    };
  });
}

/** The pending deployment as DescribeEndpoint shows it while updating. */
function pendingSummary(config: EndpointConfigDescribe, live: LiveVariant[] | undefined, share: number, status: VariantStatus, startTime: number, message?: string): EndpointDescribe['PendingDeploymentSummary'] {
  const now = epochSeconds();
  return {
    EndpointConfigName: config.EndpointConfigName,
    StartTime: startTime,
    ProductionVariants: (config.ProductionVariants ?? []).map((variant) => {
      const weight = variant.InitialVariantWeight ?? 1;
      return {
        VariantName: variant.VariantName,
        DesiredWeight: weight,
        CurrentWeight: live ? Math.round(weight * share * 1000) / 1000 : undefined,
        DesiredInstanceCount: variant.InitialInstanceCount ?? 1,
        CurrentInstanceCount: live ? (variant.InitialInstanceCount ?? 1) : undefined,
        InstanceType: variant.InstanceType,
        VariantStatus: [{ Status: status, StatusMessage: message, StartTime: now }],
      };
    }),
  };
}

function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

const ABORTED = 'aborted';

