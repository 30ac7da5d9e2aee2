/// <reference lib="dom" />
import type { Lineage } from '../../cli/lineage';
import type { Status } from '../../cli/status';
import { type Action, confirmation, REFRESH_BUSY_MS, refreshDelay, renderLineage, renderStatus } from './render';

/**
 * The dashboard page's script (bundled by esbuild when served): reads `/dashboard/api/status`
 * every few seconds while something runs (less often when all is still, not at all in a hidden
 * tab) and draws it; approve/reject/promote go through a confirmation dialog, then a
 * POST carrying the page's CSRF token.
 */

/** The longest wait between refreshes after failures (doubling from the busy interval). */
const MAX_BACKOFF_MS = 60_000;
const API = new URL('api/', window.location.href);
const token = document.querySelector<HTMLMetaElement>('meta[name="sluice-csrf"]')?.content ?? '';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const sections = { runs: element('runs'), versions: element('versions'), endpoints: element('endpoints') };
const updated = element('updated');
const message = element('message');
const dialog = element<HTMLDialogElement>('confirm');
const dialogText = element('confirm-text');
const note = element<HTMLInputElement>('confirm-note');
const lineagePanel = element<HTMLDialogElement>('lineage');
const lineageBody = element('lineage-body');

function say(text: string, kind: 'info' | 'error'): void {
  message.textContent = text;
  message.className = kind;
}

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(new URL(path, API), init);
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(body.error ?? `${response.status} ${response.statusText}`);
  return body;
}

let refreshing: ReturnType<typeof setTimeout> | undefined;
let failures = 0;

async function refresh(): Promise<void> {
  clearTimeout(refreshing);
  let delay = REFRESH_BUSY_MS;
  try {
    const status = await api<Status>('status');
    const html = renderStatus(status);
    // Replace only what changed, so a refresh does not reset scroll position or focus needlessly.
    for (const key of ['runs', 'versions', 'endpoints'] as const) if (sections[key].innerHTML !== html[key]) sections[key].innerHTML = html[key];
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    if (message.className === 'error' && message.dataset.source === 'refresh') say('', 'info');
    failures = 0;
    delay = refreshDelay(status);
  } catch (error) {
    say(`Could not read the status: ${(error as Error).message}`, 'error');
    message.dataset.source = 'refresh';
    failures += 1;
    delay = Math.min(MAX_BACKOFF_MS, REFRESH_BUSY_MS * 2 ** failures);
  } finally {
    // A hidden tab does not poll; it refreshes when shown again.
    refreshing = document.hidden ? undefined : setTimeout(() => void refresh(), delay);
  }
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) void refresh();
});

let pending: { action: Action; reference: string } | undefined;

document.addEventListener('click', (event) => {
  const target = event.target as HTMLElement;
  const button = target.closest<HTMLButtonElement>('button[data-action]');
  if (button?.dataset.action && button.dataset.reference) {
    pending = { action: button.dataset.action as Action, reference: button.dataset.reference };
    dialogText.textContent = confirmation(pending.action, pending.reference);
    note.value = '';
    note.hidden = pending.action === 'promote';
    dialog.showModal();
    return;
  }
  const link = target.closest<HTMLAnchorElement>('a.lineage');
  if (link?.dataset.reference) {
    event.preventDefault();
    void api<Lineage>(`lineage?reference=${encodeURIComponent(link.dataset.reference)}`).then(
      (lineage) => {
        lineageBody.innerHTML = renderLineage(lineage);
        lineagePanel.showModal();
      },
      (error: Error) => say(error.message, 'error'),
    );
  }
});

dialog.addEventListener('close', () => {
  const chosen = pending;
  pending = undefined;
  if (dialog.returnValue !== 'confirm' || !chosen) return;
  say(`${chosen.action}: ${chosen.reference}…`, 'info');
  const body = JSON.stringify({ reference: chosen.reference, ...(note.value && chosen.action !== 'promote' ? { note: note.value } : {}) });
  api<{ modelPackageArn: string }>(chosen.action, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sluice-csrf': token }, body }).then(
    (result) => {
      say(`${chosen.action} done: ${result.modelPackageArn}`, 'info');
      void refresh();
    },
    (error: Error) => say(`${chosen.action} failed: ${error.message}`, 'error'),
  );
});

void refresh();
