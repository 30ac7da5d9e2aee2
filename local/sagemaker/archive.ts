import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';

import { extract, pack } from 'tar-stream';

/** model.tar.gz and output.tar.gz: gzipped tarballs of a directory, as SageMaker makes them. */

/** Every regular file under `directory`, as paths relative to it with `/` separators, sorted. */
export async function listFiles(directory: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push(relative(directory, path).split(sep).join('/'));
    }
  };
  await walk(directory);
  return files.sort();
}

/** Writes `directory`'s files into a gzipped tarball at `file` (paths relative to the directory, as SageMaker packs /opt/ml/model). */
export async function tarGzDirectory(directory: string, file: string): Promise<void> {
  const files = await listFiles(directory);
  const tarball = pack();
  const written = pipeline(tarball, createGzip(), createWriteStream(file));
  for (const name of files) {
    const path = join(directory, name);
    const info = await stat(path);
    await new Promise<void>((resolveEntry, reject) => {
      const entry = tarball.entry({ name, size: info.size, mode: info.mode & 0o777, mtime: info.mtime }, (error) => (error ? reject(error) : resolveEntry()));
      createReadStream(path).on('error', reject).pipe(entry);
    });
  }
  tarball.finalize();
  await written;
}

/** Extracts a gzipped tarball into `directory`. Entries that would land outside it are rejected. */
export async function extractTarGz(file: string, directory: string): Promise<void> {
  const root = resolve(directory);
  await mkdir(root, { recursive: true });
  const reader = extract();
  const unpacked = (async () => {
    for await (const entry of reader) {
      const target = resolve(root, entry.header.name);
      if (target !== root && !target.startsWith(root + sep)) throw new Error(`tar entry ${entry.header.name} escapes the target directory`);
      if (entry.header.type === 'directory') {
        await mkdir(target, { recursive: true });
        entry.resume();
      } else if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') {
        await mkdir(dirname(target), { recursive: true });
        await pipeline(entry, createWriteStream(target));
      } else {
        entry.resume();
      }
    }
  })();
  await Promise.all([pipeline(createReadStream(file), createGunzip(), reader), unpacked]);
}
