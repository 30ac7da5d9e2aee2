import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { buildSync } from 'esbuild';

import { escapeHtml } from './page/escape';

/**
 * The page's files. A fixed table of names (no path from a request ever reaches the file system);
 * the script is bundled from page/main.ts by esbuild once, on first use, so the page is typed,
 * linted and tested TypeScript and needs nothing from the network.
 */

const PAGE_DIR = join(__dirname, 'page');

export interface Asset {
  contentType: string;
  body: string;
}

let script: string | undefined;

/** The bundled page script (an IIFE for the browser). */
function bundledScript(): string {
  script ??= buildSync({ entryPoints: [join(PAGE_DIR, 'main.ts')], bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false, legalComments: 'none' }).outputFiles[0]!.text;
  return script;
}

/** index.html with the CSRF token and the target filled in. */
export function pageHtml(token: string, target: string): string {
  return readFileSync(join(PAGE_DIR, 'index.html'), 'utf8').replace('{{CSRF_TOKEN}}', escapeHtml(token)).replace('{{TARGET}}', escapeHtml(target));
}

/** A static asset by its name under /dashboard/, or undefined for any other name. */
export function staticAsset(name: string): Asset | undefined {
  switch (name) {
    case 'app.js':
      return { contentType: 'text/javascript; charset=utf-8', body: bundledScript() };
    case 'style.css':
      return { contentType: 'text/css; charset=utf-8', body: readFileSync(join(PAGE_DIR, 'style.css'), 'utf8') };
    default:
      return undefined;
  }
}
