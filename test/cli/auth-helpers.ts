import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './run-cli.js';

export const tx = { amount: 10, hour: 12, day_of_week: 1, merchant_category: 2, transaction_type: 0 };

/** A fresh SQLite file for one test. */
export const freshDb = () => join(mkdtempSync(join(tmpdir(), 'secureflow-auth-')), 'auth.db');

/** `secureflow keys create` through the built CLI (so the build under test hashes the key); returns id and key. */
export function createKeyCli(db: string, role = 'scorer', name = `${role} key`): { id: number; key: string } {
  const r = cli(['keys', 'create', '--name', name, '--role', role, '--db', db, '--format', 'json']);
  if (r.code !== 0) throw new Error(`keys create failed (${r.code}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { id: number; key: string };
  return { id: out.id, key: out.key };
}

/** POST /api/predict; returns the status (and the time it took, in ms). */
export async function predict(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; ms: number }> {
  const t = performance.now();
  const res = await fetch(`${url}/api/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(tx),
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - t };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true or `ms` pass; returns whether it did. */
export async function eventually(probe: () => Promise<boolean>, ms: number, every = 250): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(every);
  }
  return probe();
}
