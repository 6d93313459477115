// 1. Data generation: the project's generator in memory, then the cached CSV files the CLI sections read.
import { generate, CACHE_DIR } from '../lib/data.mjs';
import { now, num, secs, rate, table } from '../lib/util.mjs';

export async function dataGeneration(ctx, out) {
  const t0 = now();
  ctx.data = generate(ctx.N);
  const genMs = now() - t0;
  const files = [];
  for (const rows of [...ctx.fileSizes].sort((a, b) => a - b)) {
    const f = await ctx.file(rows, rows === ctx.N ? ctx.data : null);
    files.push(f);
  }
  out(
    table(
      ['step', 'rows', 'time', 'rate'],
      [['generate in memory (seed 42, 5% anomalies)', num(ctx.N), secs(genMs), rate((ctx.N / genMs) * 1000)]],
    ),
  );
  out('');
  out(
    table(
      ['CSV file', 'rows', 'size', 'write time'],
      files.map((f) => [
        f.path.replace(CACHE_DIR + '/', ''),
        num(f.rows),
        `${(f.bytes / 1048576).toFixed(1)} MiB`,
        f.cached ? 'cached' : secs(f.writeMs + (f.genMs ?? 0)),
      ]),
    ),
  );
  out(`  (cache: ${CACHE_DIR})`);
  return {
    generateMs: genMs,
    generateRowsPerSec: (ctx.N / genMs) * 1000,
    files: files.map(({ path, rows, bytes, cached, genMs: g, writeMs }) => ({
      path,
      rows,
      bytes,
      cached,
      generateMs: g,
      writeMs,
    })),
  };
}
