// 5. Cold start: `node -e 0` against scoring one transaction from flags.
import { spawnSync } from 'node:child_process';
import { CLI, ROOT, SCORE_ONE, timeSync, median, millis, table } from '../lib/util.mjs';

export async function coldStart(ctx, out) {
  // One checked run first: the command must work and print JSON.
  const check = spawnSync(process.execPath, [CLI, ...SCORE_ONE], { cwd: ROOT, encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`single score exited with ${check.status}: ${check.stderr.slice(0, 300)}`);
  const score = JSON.parse(check.stdout).anomaly_score;
  timeSync(process.execPath, ['-e', '0']);
  const bare = [];
  const cli = [];
  for (let i = 0; i < ctx.coldRuns; i++) {
    // interleaved so drift hits both alike
    bare.push(timeSync(process.execPath, ['-e', '0']));
    cli.push(timeSync(process.execPath, [CLI, ...SCORE_ONE]));
  }
  const b = median(bare);
  const c = median(cli);
  out(
    table(
      [`median of ${ctx.coldRuns} runs`, 'wall', 'min', 'max'],
      [
        ['node -e 0', millis(b), millis(Math.min(...bare)), millis(Math.max(...bare))],
        ['secureflow score (one transaction, json)', millis(c), millis(Math.min(...cli)), millis(Math.max(...cli))],
      ],
    ),
  );
  out(
    `  ratio ${(c / b).toFixed(2)}x node start-up; secureflow's own share ≈ ${millis(c - b)} (anomaly_score ${score})`,
  );
  return { runs: ctx.coldRuns, nodeMedianMs: b, cliMedianMs: c, ratio: c / b, nodeMs: bare, cliMs: cli };
}
