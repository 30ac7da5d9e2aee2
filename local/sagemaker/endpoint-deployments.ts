import type { DeploymentConfig, DescribeEndpointConfigOutput, DescribeEndpointOutput } from '@aws-sdk/client-sagemaker';
import { EndpointStatus, VariantStatus } from '@aws-sdk/client-sagemaker';

import { epochSeconds } from '../http/aws-json';
import type { JsonStore } from '../store/json-store';
import { eventDetail, nameKey, publishSageMakerEvent } from './common';
import { type DeploymentPlan, planDeployment, readDeploymentConfig } from './deployment';
import type { LiveEndpoint, LiveVariant } from './fleet';
import { ping } from './serving-http';
import { SHUTDOWN_GRACE_SECONDS } from './supervisor';
import type { Wire } from './types';
import { DeploymentFailure, retireVariant, startFleet, type VariantDependencies } from './variants';

/**
 * The endpoint deployment engine: brings an endpoint's fleet up (create, plain update, restart),
 * runs blue/green deployments with guardrails, retires fleets, watches the serving processes,
 * and records each endpoint status change (with its EventBridge event).
 *
 * A blue/green deployment (UpdateEndpoint with a DeploymentConfig) brings the new (green) fleet up
 * beside the old (blue) one and shifts traffic per the TrafficRoutingConfiguration (CANARY,
 * LINEAR, ALL_AT_ONCE) with a baking period after each step; an AutoRollbackConfiguration alarm in
 * ALARM, a failing GET /ping or an exited container on the green fleet rolls all traffic back to
 * blue (Updating → RollingBack → InService, with the FailureReason).
 */

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

const ABORTED = 'aborted';

/** What the deployment engine works with: the variants' needs, the endpoint records, and configs. */
export interface EndpointDeploymentDependencies extends VariantDependencies {
  /** The endpoint records; the engine updates their status, the API layer creates and deletes them. */
  endpoints: JsonStore<EndpointDescribe>;
  /** An endpoint config's record by name; throws the API's ValidationException when there is none. */
  endpointConfig(name: string): EndpointConfigDescribe;
}

/** Deploys, shifts and retires the fleets behind endpoints; one `serve` process per live production variant. */
export class EndpointDeployments {
  private readonly live = new Map<string, LiveEndpoint>();
  private readonly tasks = new Set<Promise<void>>();
  private shuttingDown = false;

  constructor(private readonly deps: EndpointDeploymentDependencies) {}

  /** The fleets serving endpoint `name`, undefined when none is live. */
  fleets(name: string): LiveEndpoint | undefined {
    return this.live.get(nameKey(name));
  }

  /**
   * CreateEndpoint's background half: publishes the Creating record's event, then deploys
   * `configName` (InService or Failed). Returns once the deployment has started.
   */
  async create(name: string, configName: string): Promise<void> {
    await this.publish(name);
    this.launch(() => this.bringUp(name, configName, 'create'));
  }

  /**
   * UpdateEndpoint's background half: marks the endpoint Updating (recording `deployment` as
   * LastDeploymentConfig when given) and starts a blue/green deployment of `configName` per
   * `plan`, or a plain replacement without one. Throws when `configName` does not exist; returns
   * once the deployment has started.
   */
  async update(name: string, configName: string, plan: DeploymentPlan | undefined, deployment: Wire<DeploymentConfig> | undefined): Promise<void> {
    const config = this.deps.endpointConfig(configName);
    const startTime = epochSeconds();
    this.change(name, {
      EndpointStatus: EndpointStatus.UPDATING,
      PendingDeploymentSummary: pendingSummary(config, undefined, 0, VariantStatus.CREATING, startTime),
      ...(deployment ? { LastDeploymentConfig: deployment } : {}),
    });
    await this.publish(name);
    this.launch(() => (plan ? this.blueGreen(name, configName, plan, startTime) : this.bringUp(name, configName, 'update')));
  }

  /**
   * DeleteEndpoint's engine half: marks the endpoint Deleting (with its event) and retires its
   * fleets. The caller then deletes the record; deployments in flight see that and stop.
   */
  async delete(name: string): Promise<void> {
    this.change(name, { EndpointStatus: EndpointStatus.DELETING });
    await this.publish(name);
    const live = this.live.get(nameKey(name));
    this.live.delete(nameKey(name));
    await Promise.all([...(live?.variants ?? []), ...(live?.green ?? [])].map((variant) => retireVariant(variant)));
  }

  /**
   * Boot: endpoints that were serving (or on their way) are deployed again from their config (the
   * supervisor has killed the serving processes a crash left behind). An update in flight goes on
   * from its start once the old fleet serves again (see resumeUpdate); one rolling back ends on
   * its old config.
   */
  async recover(): Promise<void> {
    for (const { value } of this.deps.endpoints.list()) {
      const status = value.EndpointStatus;
      const pending = value.PendingDeploymentSummary?.EndpointConfigName;
      if (status === EndpointStatus.UPDATING && pending !== undefined && value.EndpointConfigName !== undefined) {
        this.launch(() => this.resumeUpdate(value.EndpointName!, value.EndpointConfigName!, pending, value.LastDeploymentConfig, value.PendingDeploymentSummary?.StartTime));
        continue;
      }
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

  /**
   * An update the previous process left in flight: the old fleet serves again (the endpoint stays
   * Updating, no event: nothing changed for callers), then the update runs again from its start —
   * blue/green per the endpoint's LastDeploymentConfig when it has one (which UpdateEndpoint
   * recorded), else a plain replacement — and ends with its event as any update does.
   */
  private async resumeUpdate(name: string, currentConfig: string, pendingConfig: string, deployment: Wire<DeploymentConfig> | undefined, startTime = epochSeconds()): Promise<void> {
    let variants: LiveVariant[];
    try {
      variants = await startFleet(this.deps, name, this.deps.endpointConfig(currentConfig));
    } catch (error) {
      if (this.shuttingDown || !this.deps.endpoints.get(nameKey(name))) return;
      const reason = error instanceof DeploymentFailure ? error.message : `InternalServerError: ${(error as Error).message}`;
      this.change(name, { EndpointStatus: EndpointStatus.FAILED, FailureReason: reason, PendingDeploymentSummary: undefined });
      await this.publish(name);
      return;
    }
    if (this.shuttingDown || !this.deps.endpoints.get(nameKey(name))) {
      await Promise.all(variants.map((variant) => retireVariant(variant)));
      return;
    }
    this.live.set(nameKey(name), { variants, greenShare: 0, routed: 0 });
    for (const variant of variants) this.watch(name, variant);
    const config = readDeploymentConfig(deployment);
    const plan = config ? planDeployment(config, this.deps.endpointConfig(pendingConfig)) : undefined;
    this.deps.ctx.log('sagemaker: endpoint update resumed after a restart', { endpoint: name, endpointConfig: pendingConfig });
    await (plan ? this.blueGreen(name, pendingConfig, plan, startTime) : this.bringUp(name, pendingConfig, 'update'));
  }

  /** Kills every serving process group and waits for the deployments in flight. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    const grace = (this.deps.options.shutdownGraceSeconds ?? SHUTDOWN_GRACE_SECONDS) * 1000;
    const exits: Promise<unknown>[] = [];
    for (const endpoint of this.live.values()) for (const variant of [...endpoint.variants, ...(endpoint.green ?? [])]) exits.push(retireVariant(variant, grace));
    this.live.clear();
    await Promise.allSettled([...exits, ...this.tasks]);
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
      variants = await startFleet(this.deps, name, this.deps.endpointConfig(configName));
    } catch (error) {
      if (this.shuttingDown || !this.deps.endpoints.get(nameKey(name))) return;
      const reason = error instanceof DeploymentFailure ? error.message : `InternalServerError: ${(error as Error).message}`;
      this.change(name, { EndpointStatus: mode === 'update' ? EndpointStatus.IN_SERVICE : EndpointStatus.FAILED, FailureReason: reason, PendingDeploymentSummary: undefined });
      await this.publish(name);
      return;
    }
    if (this.shuttingDown || !this.deps.endpoints.get(nameKey(name))) {
      await Promise.all(variants.map((variant) => retireVariant(variant)));
      return;
    }
    const previous = this.live.get(nameKey(name));
    this.live.set(nameKey(name), { variants, greenShare: 0, routed: 0 });
    for (const variant of variants) this.watch(name, variant);
    await Promise.all([...(previous?.variants ?? []), ...(previous?.green ?? [])].map((variant) => retireVariant(variant)));
    const config = this.deps.endpointConfig(configName);
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
    const config = this.deps.endpointConfig(configName);
    const deadline = plan.maximumExecutionMs !== undefined ? Date.now() + plan.maximumExecutionMs : undefined;
    let green: LiveVariant[];
    try {
      green = await startFleet(this.deps, name, config);
    } catch (error) {
      if (this.shuttingDown || !this.deps.endpoints.get(key)) return;
      const reason = error instanceof DeploymentFailure ? error.message : `InternalServerError: ${(error as Error).message}`;
      this.change(name, { EndpointStatus: EndpointStatus.IN_SERVICE, FailureReason: reason, PendingDeploymentSummary: undefined });
      await this.publish(name);
      return;
    }
    const live = this.live.get(key);
    if (this.shuttingDown || !this.deps.endpoints.get(key) || !live) {
      await Promise.all(green.map((variant) => retireVariant(variant)));
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
    if (this.shuttingDown || this.live.get(key) !== live || !this.deps.endpoints.get(key)) failure = ABORTED;

    if (failure === ABORTED) {
      // Deleted, stopped, or the old fleet failed: whoever did that retired the live fleets; make sure of green.
      await Promise.all(green.filter((variant) => !variant.retired).map((variant) => retireVariant(variant)));
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
    await Promise.all(blue.map((variant) => retireVariant(variant)));
    if (!this.deps.endpoints.get(key)) return;
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
      if (this.shuttingDown || this.live.get(key) !== live || !this.deps.endpoints.get(key) || !live.green) return ABORTED;
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
    await Promise.all(green.map((variant) => retireVariant(variant)));
    if (!this.deps.endpoints.get(nameKey(name)) || this.live.get(nameKey(name)) !== live) return;
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
      await Promise.all([...live.variants, ...(live.green ?? [])].map((other) => retireVariant(other)));
      this.change(name, { EndpointStatus: EndpointStatus.FAILED, PendingDeploymentSummary: undefined, FailureReason: `The container for production variant ${variant.name} exited (${exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal}`}): ${exit.stderrTail.trim().slice(-512)}` });
      await this.publish(name);
    });
  }

  private launch(run: () => Promise<void>): void {
    const task: Promise<void> = run()
      .catch((error: unknown) => this.deps.ctx.log('sagemaker: endpoint deployment failed', { error: (error as Error).message }))
      .finally(() => this.tasks.delete(task));
    this.tasks.add(task);
  }

  private change(name: string, fields: Partial<EndpointDescribe>): void {
    const endpoint = this.deps.endpoints.get(nameKey(name));
    if (!endpoint) return;
    const next: EndpointDescribe = { ...endpoint, ...fields, LastModifiedTime: epochSeconds() };
    if (fields.FailureReason === undefined && 'FailureReason' in fields) delete next.FailureReason;
    this.deps.endpoints.put(nameKey(name), next);
  }

  private async publish(name: string): Promise<void> {
    const endpoint = this.deps.endpoints.get(nameKey(name));
    if (!endpoint) return;
    const detail = eventDetail(endpoint, this.deps.tags.get(endpoint.EndpointArn!));
    detail.EndpointStatus = EVENT_STATUS[endpoint.EndpointStatus ?? ''] ?? endpoint.EndpointStatus;
    await publishSageMakerEvent(this.deps.ctx, DETAIL_TYPE_ENDPOINT, endpoint.EndpointArn!, detail);
  }
}

/** The endpoint's ProductionVariants as DescribeEndpoint shows them; current weights and counts only once `live` serves. */
export function variantSummaries(config: EndpointConfigDescribe, live: LiveVariant[] | undefined): EndpointDescribe['ProductionVariants'] {
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
