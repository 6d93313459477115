// 10. The single executable (dist/secureflow-linux-x64, `npm run package`) against `node bin/secureflow`:
// size, first run (unpacking into an empty cache), cold start, and a large file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, SCORE_ONE, median, millis, now, secs, table, timeSync } from '../lib/util.mjs';

const EXE = join(ROOT, 'dist', `secureflow-${process.platform}-${process.arch}`);
const MiB = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export async function executable(ctx, out) {
  if (!existsSync(EXE)) throw new Error(`${EXE} is missing: run npm run package (npm run bench does)`);
  const cache = mkdtempSync(join(tmpdir(), 'secureflow-bench-cache-'));
  process.env.SECUREFLOW_CACHE_DIR = cache;
  try {
    const result = (out) => ({ ...JSON.parse(out), timestamp: null });
    const same =
      JSON.stringify(result(spawnSync(EXE, SCORE_ONE, { encoding: 'utf8' }).stdout)) ===
      JSON.stringify(result(spawnSync(process.execPath, [CLI, ...SCORE_ONE], { encoding: 'utf8' }).stdout));
    if (!same) throw new Error('the executable and node bin/secureflow print different results');
    const size = statSync(EXE).size;
    const nodeSize = statSync(process.execPath).size;
    out(
      `  size ${MiB(size)} (the node binary it is built from: ${MiB(nodeSize)}, which it carries without its symbol tables)`,
    );

    // First run of a build: every run gets an empty cache folder, so each one unpacks.
    const first = [];
    for (let i = 0; i < ctx.coldRuns; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'secureflow-bench-first-'));
      const t0 = now();
      const r = spawnSync(EXE, SCORE_ONE, { env: { ...process.env, SECUREFLOW_CACHE_DIR: dir }, stdio: 'ignore' });
      first.push(now() - t0);
      rmSync(dir, { recursive: true, force: true });
      if (r.status !== 0) throw new Error(`first run exited with ${r.status}`);
    }

    const runs = Math.max(ctx.coldRuns, 20);
    const t = { bare: [], nodeVersion: [], exeVersion: [], nodeOne: [], exeOne: [] };
    for (let i = 0; i < runs; i++) {
      // interleaved so drift hits all alike
      t.bare.push(timeSync(process.execPath, ['-e', '0']));
      t.nodeVersion.push(timeSync(process.execPath, [CLI, '--version']));
      t.exeVersion.push(timeSync(EXE, ['--version']));
      t.nodeOne.push(timeSync(process.execPath, [CLI, ...SCORE_ONE]));
      t.exeOne.push(timeSync(EXE, SCORE_ONE));
    }
    const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
    out(
      table(
        [`median of ${runs} runs (first run: ${ctx.coldRuns})`, 'node bin/secureflow', 'executable'],
        [
          ['secureflow --version', millis(m.nodeVersion), millis(m.exeVersion)],
          ['score one transaction (json)', millis(m.nodeOne), millis(m.exeOne)],
          ['score one transaction, first run (unpacks)', '', millis(median(first))],
          ['node -e 0', millis(m.bare), ''],
        ],
      ),
    );

    const file = (await ctx.file(ctx.N)).path;
    const big = (cmd, args) => {
      const t0 = now();
      timeSync(cmd, [...args, 'score', '--no-store', '-q', file, '-o', join(cache, 'out.csv')]);
      return now() - t0;
    };
    const nodeBig = big(process.execPath, [CLI]);
    const exeBig = big(EXE, []);
    out(`  ${ctx.N.toLocaleString('en-US')} rows CSV→CSV: node ${secs(nodeBig)}, executable ${secs(exeBig)}`);
    return {
      sizeBytes: size,
      nodeSizeBytes: nodeSize,
      firstRunMedianMs: median(first),
      medianMs: m,
      runs,
      bigFile: { rows: ctx.N, nodeMs: nodeBig, exeMs: exeBig },
    };
  } finally {
    delete process.env.SECUREFLOW_CACHE_DIR;
    rmSync(cache, { recursive: true, force: true });
  }
}
