import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { ContainerDefinition, DescribeEndpointConfigOutput, DescribeModelOutput, ProductionVariant } from '@aws-sdk/client-sagemaker';

import type { ServiceContext } from '../context';
import { freePort } from '../http/free-port';
import { nameKey, resourceArn, tagMap } from './common';
import type { LiveVariant } from './fleet';
import { endpointLogGroup, endpointLogStream } from './log-streams';
import { fetchModelData } from './model-data';
import { type ContainerSession, startContainerSession } from './role-session';
import { s3Error } from './object-store';
import { CONTAINER_ML_DIR } from './sandbox';
import { waitForPing } from './serving-http';
import type { ContainerSupervisor } from './supervisor';
import type { TagStore } from './tags';
import type { SageMakerServiceOptions, Wire } from './types';

/**
 * An endpoint's production variants as containers: started (model data in /opt/ml/model, `serve`
 * in the sandbox, healthy on GET /ping) and retired (stopped, directory removed).
 */

const DEFAULT_HEALTH_CHECK_SECONDS = 600;

/** What starting a variant needs. */
export interface VariantDependencies {
  ctx: ServiceContext;
  options: SageMakerServiceOptions;
  tags: TagStore;
  containers: ContainerSupervisor;
  /** A model's record by name, undefined when there is none. */
  model(name: string): Wire<DescribeModelOutput> | undefined;
}

/** A deployment that cannot go on; its message is the endpoint's FailureReason. */
export class DeploymentFailure extends Error {
  override readonly name = 'DeploymentFailure';
}

/** Starts every production variant of `config`; when one fails, the ones started are retired and the failure thrown. */
export async function startFleet(deps: VariantDependencies, name: string, config: Wire<DescribeEndpointConfigOutput>): Promise<LiveVariant[]> {
  const started: LiveVariant[] = [];
  try {
    for (const variant of config.ProductionVariants ?? []) started.push(await startVariant(deps, name, variant));
    return started;
  } catch (error) {
    await Promise.all(started.map((variant) => retireVariant(variant)));
    throw error;
  }
}

/**
 * Starts one production variant: its directory (the container's /opt/ml) with the model data
 * extracted into model/, its `serve` container through the supervisor on a free loopback port,
 * then waits for GET /ping to answer 200. Throws DeploymentFailure (the endpoint's FailureReason)
 * when the model, its data, its image or its health check fails; nothing is left running then.
 */
export async function startVariant(deps: VariantDependencies, endpointName: string, variant: Wire<ProductionVariant>): Promise<LiveVariant> {
  const { ctx, options } = deps;
  const model = deps.model(variant.ModelName!);
  if (!model) throw new DeploymentFailure(`Could not find model "${resourceArn(ctx, 'model', variant.ModelName!)}".`);
  const container = model.PrimaryContainer!;
  const directory = join(ctx.dataDir, 'endpoint-instances', nameKey(endpointName), `${variant.VariantName}-${randomUUID().slice(0, 8)}`);
  const modelDir = join(directory, 'model');
  await mkdir(modelDir, { recursive: true });
  const session = startContainerSession(ctx, options, model.ExecutionRoleArn);
  try {
    return await startContainer(deps, endpointName, variant, { modelArn: model.ModelArn!, container, directory, modelDir, session });
  } catch (error) {
    session.end();
    throw error;
  }
}

async function startContainer(
  deps: VariantDependencies,
  endpointName: string,
  variant: Wire<ProductionVariant>,
  { modelArn, container, directory, modelDir, session }: { modelArn: string; container: Wire<ContainerDefinition>; directory: string; modelDir: string; session: ContainerSession },
): Promise<LiveVariant> {
  const { options } = deps;
  if (container.ModelDataUrl) {
    try {
      await fetchModelData(session.objects, container.ModelDataUrl, modelDir, join(directory, 'download'));
    } catch (error) {
      throw new DeploymentFailure(`Failed to download model data from ${container.ModelDataUrl} for production variant ${variant.VariantName}: ${s3Error(error)}`);
    }
  }
  let image;
  try {
    image = await options.resolveImage({ imageUri: container.Image!, purpose: 'hosting', tags: tagMap(deps.tags.get(modelArn)) });
  } catch (error) {
    throw new DeploymentFailure(`Image ${container.Image} has no local command: ${(error as Error).message}`);
  }
  const port = await freePort();
  const logGroup = endpointLogGroup(endpointName);
  const logStream = endpointLogStream(variant.VariantName!);
  const child = deps.containers.launch(`endpoint.${nameKey(endpointName)}`, {
    command: [...image.command, 'serve'],
    env: {
      ...session.env,
      ...image.env,
      ...container.Environment,
      SAGEMAKER_BIND_TO_PORT: String(port),
      SM_MODEL_DIR: `${CONTAINER_ML_DIR}/model`,
    },
    cwd: image.cwd,
    mlDirectory: directory,
    // The invoke proxy reaches the variant on loopback, so it shares the host's network even when
    // the model asks for EnableNetworkIsolation (on AWS that blocks only outbound calls): not enforced locally.
    networkIsolation: false,
    logFile: join(deps.ctx.dataDir, 'logs', 'Endpoints', endpointName, `${variant.VariantName}.log`),
    onLine: (line) => options.logs?.put(logGroup, logStream, line),
  });
  const live: LiveVariant = {
    name: variant.VariantName!,
    port,
    weight: variant.InitialVariantWeight ?? 1,
    directory,
    child,
    retired: false,
    instanceCount: variant.InitialInstanceCount ?? 1,
    endSession: session.end,
  };
  void child.done.then((exit) => {
    live.exitReason = `${exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal}`}${exit.stderrTail.trim() ? `: ${exit.stderrTail.trim().slice(-512)}` : ''}`;
  });
  const timeout = (variant.ContainerStartupHealthCheckTimeoutInSeconds ?? DEFAULT_HEALTH_CHECK_SECONDS) * 1000;
  const healthy = await waitForPing(port, child, timeout);
  if (healthy !== true) {
    await retireVariant(live);
    throw new DeploymentFailure(`The primary container for production variant ${variant.VariantName} did not pass the ping health check (${healthy}). Please check the logs for this endpoint.`);
  }
  return live;
}

/** Stops a variant's container (SIGTERM, then SIGKILL after the grace, default the stop grace) and removes its directory. */
export async function retireVariant(variant: LiveVariant, graceMs?: number): Promise<void> {
  variant.retired = true;
  await variant.child.stop(graceMs);
  variant.endSession?.();
  await rm(variant.directory, { recursive: true, force: true });
}
