import type { RunningContainer } from './supervisor';

/**
 * An endpoint's live fleets, as hosting deploys them and the invoke proxy routes to them: the
 * variants serving the current config (blue) and, during a blue/green deployment, the new ones
 * (green) with the share of traffic they get.
 */

/** A production variant being served: one sandboxed `serve` container on a loopback port. */
export interface LiveVariant {
  name: string;
  port: number;
  weight: number;
  directory: string;
  child: RunningContainer;
  retired: boolean;
  instanceCount: number;
  /** Why the process exited, once it has. */
  exitReason?: string;
  /** Ends the variant's role session (its container's credentials stop standing for the model's ExecutionRoleArn). */
  endSession?: () => void;
}

/** An endpoint's serving fleets. */
export interface LiveEndpoint {
  /** The fleet serving the endpoint's current EndpointConfigName (blue during a deployment). */
  variants: LiveVariant[];
  /** The new fleet during a blue/green deployment. */
  green?: LiveVariant[];
  /** Share of requests routed to green (0..1). */
  greenShare: number;
  /** Requests routed since the share last changed (the split is counted, not random). */
  routed: number;
}

/**
 * Which fleet serves the next request: green for `greenShare` of them, counted rather than drawn
 * (request n goes to green when floor((n+1)·share) > floor(n·share)), so a 25 % canary gets
 * exactly one request in four.
 */
export function routeFleet(live: LiveEndpoint): LiveVariant[] {
  const green = live.green;
  if (!green || green.length === 0 || live.greenShare <= 0) return live.variants;
  const n = live.routed;
  live.routed += 1;
  return Math.floor((n + 1) * live.greenShare + 1e-9) > Math.floor(n * live.greenShare + 1e-9) ? green : live.variants;
}

/** A variant drawn by InitialVariantWeight. */
export function pickByWeight(variants: LiveVariant[]): LiveVariant | undefined {
  const total = variants.reduce((sum, variant) => sum + Math.max(variant.weight, 0), 0);
  if (total <= 0) return variants[0];
  let roll = Math.random() * total;
  for (const variant of variants) {
    roll -= Math.max(variant.weight, 0);
    if (roll < 0) return variant;
  }
  return variants.at(-1);
}
