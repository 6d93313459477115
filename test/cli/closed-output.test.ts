import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli, writeRepeatedFixture } from './run-cli.js';

// `secureflow score big.csv | head` is how people peek at output: the reader leaving early is no error.
describe('a reader that closes stdout early', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secureflow-pipe-'));
  const big = join(dir, 'big.csv');
  writeRepeatedFixture('transactions.csv', 3000, big);

  for (const format of ['csv', 'json', 'ndjson']) {
    it(`ends ${format} output quietly with exit 141, keeping what was stored`, () => {
      const db = join(dir, `${format}.db`);
      const script = `"${process.execPath}" "${BIN}" score "${big}" -f ${format} --db "${db}" 2>"${join(dir, 'err')}" | head -c 200 >/dev/null; echo "\${PIPESTATUS[0]}"`;
      const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      const stderr = readFileSync(join(dir, 'err'), 'utf8');
      expect(r.stdout.trim()).toBe('141');
      expect(stderr).not.toMatch(/internal error|EPIPE|at .*\.js:\d+/);
      // The rows stored before the reader left are whole chunks, and the message says how many.
      const said = Number(/stopped after storing ([\d,]+) rows/.exec(stderr)?.[1].replace(/,/g, ''));
      const listed = JSON.parse(
        cli(['transactions', 'list', '--db', db, '--format', 'json', '--limit', '1']).stdout,
      ) as { total: number };
      expect(said).toBeGreaterThan(0);
      expect(listed.total).toBe(said);
    });
  }
});
