// 12. Detection scenarios (issue 14 item 2): for each scenario of bench/scenarios/generators.mjs, `secureflow
// train` with our defaults on the train part (labels left out) and `secureflow evaluate` on the test part, next to
// scikit-learn's numbers on the same files, measured once and recorded in bench/scenarios/sklearn-baseline.json.
//   SCENARIO_TRAIN_FLAGS="--amount-transform log1p"   extra `train` flags (to compare options against the defaults)
//   SCENARIO_VARIANTS=0   skip the option columns (VARIANTS below: each is trained and evaluated like the defaults)
//   SCENARIO_DIR=dir   where the scenario CSVs and models go (default $TMPDIR/secureflow-bench/scenarios)
//   SCENARIO_SEEDS=1,2,3,4,5   other generator seeds (new files each, in DIR-seed-N), the defaults against
//     scikit-learn measured on those very files (sklearn-baseline-seeds.json); empty to skip
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { averagePrecision, rocAuc } from '../../dist/model/metrics.js';
import { DEFAULT_DIR, ensureScenarios } from '../scenarios/generators.mjs';
import { CLI, ROOT, now, num, secs, table } from '../lib/util.mjs';

const run = promisify(execFile);
const BASELINE = new URL('../scenarios/sklearn-baseline.json', import.meta.url);
const SEEDS_BASELINE = new URL('../scenarios/sklearn-baseline-seeds.json', import.meta.url);

async function cli(args) {
  try {
    const { stdout } = await run(process.execPath, [CLI, ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
    return stdout;
  } catch (e) {
    throw new Error(`secureflow ${args.join(' ')} failed: ${String(e.stderr || e.message).slice(0, 500)}`);
  }
}

function loadBaseline(url = BASELINE) {
  if (!existsSync(url)) return null;
  return JSON.parse(readFileSync(url, 'utf8'));
}

/** Options shown next to the defaults: the forest before conditional features, and the representations chosen. */
const VARIANTS = [
  { key: 'plain', label: '--conditional-features none', flags: ['--conditional-features', 'none'] },
  {
    key: 'autoRepr',
    label: '--amount-transform auto --day-start-hour auto',
    flags: ['--amount-transform', 'auto', '--day-start-hour', 'auto'],
  },
];

/** Trains on the scenario's train part with `flags` and evaluates the test part: the evaluate JSON. */
async function trainAndEvaluate(dir, s, flags, model) {
  await cli(['train', join(dir, s.train.path), '--label-column', 'is_fraud', '--out', model, '-f', 'json', ...flags]);
  const m = JSON.parse(
    await cli(['evaluate', join(dir, s.test.path), '--label-column', 'is_fraud', '--model', model, '--format', 'json']),
  );
  if (m.rows !== s.test.rows || m.tp + m.fn !== s.test.fraud)
    throw new Error(
      `${s.name}: evaluate saw ${m.rows} rows, ${m.tp + m.fn} fraud; expected ${s.test.rows}, ${s.test.fraud}`,
    );
  return m;
}

const f4 = (x) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(4));

/** Mean and worst (minimum, with the scenario it came from) of one column. */
function aggregate(rows, pick) {
  const values = rows.map((r) => [pick(r), r.name]).filter(([v]) => typeof v === 'number' && !Number.isNaN(v));
  if (values.length !== rows.length) return { mean: null, worst: null, worstScenario: null };
  const mean = values.reduce((s, [v]) => s + v, 0) / values.length;
  const [worst, worstScenario] = values.reduce((a, b) => (b[0] < a[0] ? b : a));
  return { mean, worst, worstScenario };
}

export async function scenarios(ctx, out) {
  const dir = process.env.SCENARIO_DIR || DEFAULT_DIR;
  const extra = (process.env.SCENARIO_TRAIN_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const t0 = now();
  const manifest = ensureScenarios({ dir });
  out(
    `  ${manifest.scenarios.length} scenarios in ${dir} (${manifest.cached ? 'cached' : `generated in ${secs(now() - t0)}`}, seed ${manifest.seed})`,
  );
  const baseline = loadBaseline();
  const rows = [];
  for (const s of manifest.scenarios) {
    const model = join(dir, `${s.name}-model.json`);
    const t1 = now();
    await cli(['train', join(dir, s.train.path), '--label-column', 'is_fraud', '--out', model, '-f', 'json', ...extra]);
    const trainMs = now() - t1;
    const t2 = now();
    const m = JSON.parse(
      await cli([
        'evaluate',
        join(dir, s.test.path),
        '--label-column',
        'is_fraud',
        '--model',
        model,
        '--format',
        'json',
      ]),
    );
    const evaluateMs = now() - t2;
    if (m.rows !== s.test.rows || m.tp + m.fn !== s.test.fraud)
      throw new Error(
        `${s.name}: evaluate saw ${m.rows} rows, ${m.tp + m.fn} fraud; expected ${s.test.rows}, ${s.test.fraud}`,
      );
    const variants = {};
    if (process.env.SCENARIO_VARIANTS !== '0')
      for (const v of VARIANTS) {
        const vm = await trainAndEvaluate(dir, s, [...extra, ...v.flags], join(dir, `${s.name}-${v.key}-model.json`));
        variants[v.key] = { roc: vm.roc_auc, pr: vm.pr_auc };
      }
    const b = baseline?.scenarios?.[s.name];
    // scikit-learn's figures count only if they were measured on these very files.
    const stale = b && (b.train_sha256 !== s.train.sha256 || b.test_sha256 !== s.test.sha256);
    rows.push({
      name: s.name,
      testRows: s.test.rows,
      fraudShare: s.test.fraud / s.test.rows,
      roc: m.roc_auc,
      pr: m.pr_auc,
      precision: m.precision,
      recall: m.recall,
      skRoc: b && !stale ? b.raw.roc_auc : null,
      skPr: b && !stale ? b.raw.pr_auc : null,
      skLogRoc: b && !stale ? b.log1p_amount.roc_auc : null,
      skLogPr: b && !stale ? b.log1p_amount.pr_auc : null,
      stale: Boolean(stale),
      ...Object.fromEntries(
        Object.entries(variants).flatMap(([k, v]) => [
          [`${k}Roc`, v.roc],
          [`${k}Pr`, v.pr],
        ]),
      ),
      trainMs,
      evaluateMs,
    });
  }
  const shown = process.env.SCENARIO_VARIANTS === '0' ? [] : VARIANTS;
  const columns = [
    ['roc', 'ours ROC-AUC'],
    ['pr', 'ours PR-AUC'],
    ...shown.flatMap((v, i) => [
      [`${v.key}Roc`, `option ${i + 1} ROC`],
      [`${v.key}Pr`, `option ${i + 1} PR`],
    ]),
    ['skRoc', 'sklearn ROC-AUC'],
    ['skPr', 'sklearn PR-AUC'],
    ['skLogRoc', 'sklearn log1p ROC'],
    ['skLogPr', 'sklearn log1p PR'],
  ];
  const summary = Object.fromEntries(columns.map(([k]) => [k, aggregate(rows, (r) => r[k])]));
  out(
    table(
      ['scenario', 'test rows', 'fraud %', ...columns.map(([, h]) => h)],
      [
        ...rows.map((r) => [
          r.name,
          num(r.testRows),
          `${(r.fraudShare * 100).toFixed(2)}%`,
          ...columns.map(([k]) => (r.stale && k.startsWith('sk') ? 'stale' : f4(r[k]))),
        ]),
        ['mean', '', '', ...columns.map(([k]) => f4(summary[k].mean))],
        ['worst', '', '', ...columns.map(([k]) => f4(summary[k].worst))],
        ['worst scenario', '', '', ...columns.map(([k]) => summary[k].worstScenario ?? 'n/a')],
      ],
    ),
  );
  out(
    `  ours: \`secureflow train TRAIN --label-column is_fraud${extra.length ? ` ${extra.join(' ')}` : ''}\` (defaults otherwise), ` +
      '`secureflow evaluate TEST --label-column is_fraud --model MODEL`',
  );
  for (const [i, v] of shown.entries()) out(`  option ${i + 1}: the defaults with ${v.label}`);
  if (baseline) {
    out(
      `  scikit-learn ${baseline.sklearn_version}: ${baseline.estimator}, recorded ${baseline.date} by: ${baseline.command}`,
    );
    if (rows.some((r) => r.stale))
      out('  "stale": the scenario files differ from the ones scikit-learn was measured on; re-run that command');
  } else out('  no bench/scenarios/sklearn-baseline.json: scikit-learn columns are n/a');
  const byKind = await mixedByKind(dir, manifest, baseline, out);
  const seeds = await otherSeeds(dir, extra, out);
  const totalTrainMs = rows.reduce((s, r) => s + r.trainMs, 0);
  const totalEvaluateMs = rows.reduce((s, r) => s + r.evaluateMs, 0);
  out(`  train ${secs(totalTrainMs)}, evaluate ${secs(totalEvaluateMs)} in all`);
  return {
    dir,
    seed: manifest.seed,
    generatorVersion: manifest.generatorVersion,
    trainFlags: extra,
    options: shown.map((v, i) => ({ column: `option ${i + 1}`, key: v.key, flags: v.flags })),
    sklearn: baseline ? { version: baseline.sklearn_version, date: baseline.date, command: baseline.command } : null,
    scenarios: rows,
    summary,
    mixedByKind: byKind,
    seeds,
  };
}

/**
 * The defaults on scenario files generated with other seeds (other populations from the same recipes), against
 * scikit-learn measured on the same files: per scenario the mean and the lowest over seeds, how many seeds ours
 * is below scikit-learn, and the smallest PR-AUC ratio.
 */
async function otherSeeds(dir, extra, out) {
  const seeds = (process.env.SCENARIO_SEEDS ?? '1,2,3,4,5').split(',').filter(Boolean).map(Number);
  if (seeds.length === 0) return null;
  const baseline = loadBaseline(SEEDS_BASELINE);
  const byScenario = new Map();
  for (const seed of seeds) {
    const manifest = ensureScenarios({ dir: `${dir}-seed-${seed}`, seed });
    for (const s of manifest.scenarios) {
      const m = await trainAndEvaluate(manifest.dir, s, extra, join(manifest.dir, `${s.name}-model.json`));
      const b = baseline?.seeds?.[String(seed)]?.[s.name];
      const fresh = b && b.train_sha256 === s.train.sha256 && b.test_sha256 === s.test.sha256;
      const list = byScenario.get(s.name) ?? [];
      list.push({ seed, roc: m.roc_auc, pr: m.pr_auc, sk: fresh ? b.raw : null, skLog: fresh ? b.log1p_amount : null });
      byScenario.set(s.name, list);
    }
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const known = (list, k) => (list.every((r) => r[k]) ? list.map((r) => r[k]) : null);
  const rows = [...byScenario].map(([name, list]) => {
    const sk = known(list, 'sk');
    const skLog = known(list, 'skLog');
    return {
      name,
      roc: mean(list.map((r) => r.roc)),
      rocMin: Math.min(...list.map((r) => r.roc)),
      pr: mean(list.map((r) => r.pr)),
      skRoc: sk ? mean(sk.map((x) => x.roc_auc)) : null,
      skPr: sk ? mean(sk.map((x) => x.pr_auc)) : null,
      rocBelow: sk ? list.filter((r) => r.roc < r.sk.roc_auc).length : null,
      prRatioMin: sk ? Math.min(...list.map((r) => r.pr / r.sk.pr_auc)) : null,
      skLogRoc: skLog ? mean(skLog.map((x) => x.roc_auc)) : null,
      skLogPr: skLog ? mean(skLog.map((x) => x.pr_auc)) : null,
      perSeed: list,
    };
  });
  const n = seeds.length;
  out(`  generator seeds ${seeds.join(', ')} (new files each), the defaults; scikit-learn on the same files:`);
  out(
    table(
      [
        'scenario',
        'ours ROC mean',
        'lowest',
        'sklearn ROC mean',
        `seeds ours < sklearn (of ${n})`,
        'ours PR mean',
        'sklearn PR mean',
        'PR ratio, lowest seed',
        'sklearn log1p ROC',
        'sklearn log1p PR',
      ],
      [
        ...rows.map((r) => [
          r.name,
          f4(r.roc),
          f4(r.rocMin),
          f4(r.skRoc),
          r.rocBelow ?? 'n/a',
          f4(r.pr),
          f4(r.skPr),
          r.prRatioMin === null ? 'n/a' : `${r.prRatioMin.toFixed(2)}x`,
          f4(r.skLogRoc),
          f4(r.skLogPr),
        ]),
        [
          'mean',
          f4(mean(rows.map((r) => r.roc))),
          f4(Math.min(...rows.map((r) => r.rocMin))),
          '',
          '',
          f4(mean(rows.map((r) => r.pr))),
          '',
          '',
          '',
          '',
        ],
      ],
    ),
  );
  if (!baseline || rows.some((r) => r.skRoc === null))
    out(
      '  scikit-learn n/a: no figures for these files; after this bench wrote them, run ' +
        '`/usr/bin/python3 bench/scenarios/sklearn_baseline.py --seeds ' +
        `${seeds.join(',')} > bench/scenarios/sklearn-baseline-seeds.json\``,
    );
  else out(`  scikit-learn ${baseline.sklearn_version}, recorded ${baseline.date} by: ${baseline.command}`);
  return { seeds, scenarios: rows };
}

/**
 * The mixed scenario by fraud kind: each kind's rows against all legitimate rows of the test part, scored by
 * `secureflow score` with the scenario's model (fraud_kind is carried through), next to scikit-learn's.
 */
async function mixedByKind(dir, manifest, baseline, out) {
  const s = manifest.scenarios.find((x) => x.name === 'mixed');
  if (!s) return null;
  const csv = await cli([
    'score',
    join(dir, s.test.path),
    '--model',
    join(dir, `${s.name}-model.json`),
    '--no-store',
    '--format',
    'csv',
    '-q',
  ]);
  const lines = csv.trimEnd().split('\n');
  const header = lines[0].split(',');
  const kindAt = header.indexOf('fraud_kind');
  const scoreAt = header.indexOf('anomaly_score');
  const kinds = lines.slice(1).map((l) => l.split(',')[kindAt]);
  const scores = Float64Array.from(lines.slice(1), (l) => Number(l.split(',')[scoreAt]));
  if (kindAt < 0 || scoreAt < 0 || kinds.length !== s.test.rows)
    throw new Error(`score gave ${kinds.length} rows (columns ${header.join(',')}), expected ${s.test.rows}`);
  const b = baseline?.scenarios?.mixed;
  const stale = b && b.test_sha256 !== s.test.sha256;
  const result = [];
  for (const kind of [...new Set(kinds)].filter((k) => k !== 'none').sort()) {
    const pick = kinds.flatMap((k, i) => (k === kind || k === 'none' ? [i] : []));
    const y = Uint8Array.from(pick, (i) => (kinds[i] === kind ? 1 : 0));
    const x = Float64Array.from(pick, (i) => scores[i]);
    const sk = b && !stale ? b.by_kind?.[kind] : null;
    result.push({
      kind,
      rows: y.reduce((n, v) => n + v, 0),
      roc: rocAuc(x, y),
      pr: averagePrecision(x, y),
      skRoc: sk?.raw.roc_auc ?? null,
      skPr: sk?.raw.pr_auc ?? null,
      skLogRoc: sk?.log1p_amount.roc_auc ?? null,
      skLogPr: sk?.log1p_amount.pr_auc ?? null,
    });
  }
  out('  mixed, by fraud kind (each kind against all legitimate test rows):');
  out(
    table(
      [
        'kind',
        'rows',
        'ours ROC-AUC',
        'ours PR-AUC',
        'sklearn ROC-AUC',
        'sklearn PR-AUC',
        'sklearn log1p ROC',
        'sklearn log1p PR',
      ],
      result.map((r) => [
        r.kind,
        num(r.rows),
        f4(r.roc),
        f4(r.pr),
        f4(r.skRoc),
        f4(r.skPr),
        f4(r.skLogRoc),
        f4(r.skLogPr),
      ]),
    ),
  );
  return result;
}
