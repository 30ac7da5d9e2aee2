import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { extractTarGz } from './archive';
import type { ObjectStore } from './types';

/**
 * Puts a model's ModelDataUrl where its serving container reads it (/opt/ml/model), as SageMaker
 * does for endpoints and batch transform: a `.tar.gz` object is downloaded into `scratch` and
 * extracted, anything else (a prefix) is copied as it is. Throws the store's error, or "no object
 * at that URL"; callers word the failure for their resource.
 */
export async function fetchModelData(objects: ObjectStore, modelDataUrl: string, modelDirectory: string, scratch: string): Promise<void> {
  if (!/\.tar\.gz$/.test(modelDataUrl)) {
    await objects.download(modelDataUrl, modelDirectory);
    return;
  }
  await objects.download(modelDataUrl, scratch);
  const [archive] = await readdir(scratch);
  if (!archive) throw new Error('no object at that URL');
  await extractTarGz(join(scratch, archive), modelDirectory);
  await rm(scratch, { recursive: true, force: true });
}
