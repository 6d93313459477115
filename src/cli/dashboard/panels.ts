/**
 * The panels' text, built once for both the Ink view (which adds colour) and the plain snapshot.
 * Every line is exactly the width asked for.
 */
import { formatFixed } from '../../model/number-format.js';
import type { DashboardSnapshot, FlaggedSummary } from './snapshot.js';
import {
  fit,
  fmtAmount,
  fmtCompact,
  fmtInt,
  fmtPct,
  fmtScore,
  fmtSpan,
  fmtStamp,
  hbar,
  hourAxis,
  levelChar,
  resample,
  sparkline,
  vbar,
  width,
} from './format.js';

export interface HourlyChart {
  title: string;
  /** The legend for the share row, e.g. "▒ flagged ≤38.2%". */
  legend: string;
  /** Bar rows, top first. */
  bars: string[];
  /** The flagged share per hour, scaled to the highest share. */
  share: string;
  axis: string;
}

/** 24 bars of `cw` columns each (the last one a gap); shaded=true marks the share row with shades. */
export function hourlyChart(
  hourly: DashboardSnapshot['hourly_distribution'],
  cw: number,
  height: number,
  shaded: boolean,
): HourlyChart {
  const hours = Array.from(
    { length: 24 },
    (_, h) => hourly.find((x) => x.hour === h) ?? { hour: h, total_transactions: 0, anomalies: 0 },
  );
  const max = Math.max(0, ...hours.map((h) => h.total_transactions));
  const shares = hours.map((h) => (h.total_transactions > 0 ? h.anomalies / h.total_transactions : 0));
  const maxShare = Math.max(0, ...shares);
  const cols = hours.map((h) => vbar(h.total_transactions, max, height));
  const ink = Math.max(1, cw - 1);
  const sep = cw > 1 ? ' ' : '';
  const row = (cell: (h: number) => string) => hours.map((_, h) => cell(h).repeat(ink) + sep).join('');
  return {
    title: `Hourly volume (max ${fmtCompact(max)})`,
    legend: `${shaded ? '▒' : '▆'} flagged ≤${fmtPct(maxShare * 100)}`,
    bars: Array.from({ length: height }, (_, r) => row((h) => cols[h][r])),
    share: row((h) => levelChar(maxShare > 0 ? shares[h] / maxShare : 0, shaded)),
    axis: hourAxis(cw),
  };
}

export interface RiskRow {
  name: 'normal' | 'elevated' | 'highest';
  /** Name, count and (optionally) share, ending in a space. */
  text: string;
  bar: string;
}

/** One row per risk level with a bar proportional to its share of all transactions. */
export function riskRows(levels: DashboardSnapshot['risk_levels'], w: number, withPct: boolean): RiskRow[] {
  const names = ['normal', 'elevated', 'highest'] as const;
  const total = names.reduce((a, n) => a + levels[n], 0);
  const countW = Math.max(...names.map((n) => fmtInt(levels[n]).length));
  return names.map((name) => {
    const share = total ? levels[name] / total : 0;
    const text = `${fit(name, 8)} ${fit(fmtInt(levels[name]), countW, 'right')} ${withPct ? `${fit(fmtPct(share * 100), 6, 'right')} ` : ''}`;
    return { name, text, bar: hbar(share, Math.max(0, w - width(text))) };
  });
}

/** The throughput title ("Throughput /3h30m"), min/max labels and a sparkline of at most `w` blocks. */
export function throughputPanel(
  t: DashboardSnapshot['throughput'],
  w: number,
): { title: string; range: string; spark: string } {
  const values = t.map((b) => b.total);
  const shown = resample(values, w);
  const k = Math.max(1, Math.ceil(values.length / Math.max(1, w)));
  const span = t.length > 1 ? Date.parse(t[1].start) - Date.parse(t[0].start) : NaN;
  return {
    title: Number.isFinite(span) && span > 0 ? `Throughput /${fmtSpan(span * k)}` : 'Throughput',
    range: shown.length ? `min ${fmtCompact(Math.min(...shown))} max ${fmtCompact(Math.max(...shown))}` : '',
    spark: shown.length ? sparkline(values, w) : 'no data',
  };
}

export interface FlaggedRow {
  id: number;
  /** Everything before the feedback mark. */
  pre: string;
  /** "✓ ", "✗ " or two spaces. */
  mark: string;
  /** The gap and the top factor, to the end of the line. */
  factor: string;
}

/**
 * The recent-flagged table in `columns`: id, time, amount, score (wide adds risk and level), feedback
 * mark, and the top factor filling the rest, truncated.
 */
export function flaggedTable(
  list: readonly FlaggedSummary[],
  columns: number,
  wide: boolean,
): { head: string; rows: FlaggedRow[] } {
  const g = wide ? '  ' : ' ';
  const idW = Math.max(2, ...list.map((r) => String(r.id).length));
  const timeW = wide ? 14 : 11;
  const amtW = Math.max(6, ...list.map((r) => fmtAmount(r.amount).length));
  const lead = (id: string, time: string, amount: string, score: string, risk: string, level: string) =>
    [
      fit(id, idW, 'right'),
      fit(time, timeW),
      fit(amount, amtW, 'right'),
      fit(score, 5, 'right'),
      ...(wide ? [fit(risk, 5, 'right'), fit(level, 8)] : []),
    ].join(g) + g;
  const head = lead('id', 'time', 'amount', 'score', 'risk', 'level');
  const factorW = Math.max(0, columns - width(head) - 2 - g.length);
  return {
    head: fit(`${head}fb${g}top risk factor`, columns),
    rows: list.map((r) => ({
      id: r.id,
      pre: lead(
        String(r.id),
        fmtStamp(r.created_at, wide),
        fmtAmount(r.amount),
        fmtScore(r.anomaly_score),
        formatFixed(r.risk_score, 1),
        r.risk_level,
      ),
      mark: r.feedback === null ? '  ' : r.feedback ? '✓ ' : '✗ ',
      factor: g + fit(r.top_factor?.description ?? '-', factorW),
    })),
  };
}

/** The first visible row so that `selected` is on screen in a window of `n` rows. */
export function windowStart(selected: number, n: number, length: number): number {
  return Math.max(0, Math.min(selected >= n ? selected - n + 1 : 0, length - n));
}

export interface DriftCell {
  /** "amount 0.01 " and the like: a short name and the PSI, ending in a space. */
  text: string;
  band: 'stable' | 'watch' | 'drifted' | null;
}

const DRIFT_NAMES: Record<string, string> = {
  amount: 'amount',
  hour: 'hour',
  day_of_week: 'day',
  merchant_category: 'cat',
  transaction_type: 'type',
};

/** PSI in at most 4 characters: 0.01, 8.28, 12.3, 153. */
export function fmtPsi(psi: number): string {
  return psi < 9.995 ? psi.toFixed(2) : psi < 99.95 ? psi.toFixed(1) : String(Math.round(psi));
}

/**
 * The drift line: "Drift 7d", each feature's PSI and the score's, then the verdict (the worst band), coloured
 * by the view. At most 80 columns (PSI takes at most 4 characters).
 */
export function driftCells(drift: NonNullable<DashboardSnapshot['drift']>): {
  title: string;
  cells: DriftCell[];
  verdict: DriftCell;
} {
  const cells: DriftCell[] = drift.features.map((f) => ({
    text: `${DRIFT_NAMES[f.name] ?? f.name} ${fmtPsi(f.psi)} `,
    band: f.band,
  }));
  cells.push(
    drift.score
      ? { text: `score ${fmtPsi(drift.score.psi)} `, band: drift.score.band }
      : { text: 'score n/a ', band: null },
  );
  const bands = cells.map((c) => c.band);
  const worst = bands.includes('drifted') ? 'drifted' : bands.includes('watch') ? 'watch' : 'stable';
  return { title: `Drift ${drift.days}d `, cells, verdict: { text: worst, band: worst } };
}

export interface DecisionCell {
  /** " · " before every count but the first (uncoloured). */
  lead: string;
  /** The count and its decision, "190 review" (the view colours it by decision). */
  text: string;
  decision: 'allow' | 'review' | 'block';
}

/**
 * The decisions line ("Decisions 11,800 allow · 190 review · 37 block") and the rules that fired most ("big
 * (block) 37, night (review) 12"), from a snapshot that has them (absent from an older daemon: null).
 */
export function decisionsPanel(s: DashboardSnapshot): { title: string; cells: DecisionCell[]; rules: string } | null {
  if (!s.decisions) return null;
  const d = s.decisions;
  const cells = (['allow', 'review', 'block'] as const).map((name, i) => ({
    lead: i > 0 ? ' · ' : '',
    text: `${fmtInt(d[name])} ${name}`,
    decision: name,
  }));
  const top = s.top_rules ?? [];
  const rules = top.length
    ? top.map((r) => `${r.name} (${r.action}) ${fmtInt(r.matches)}`).join(', ')
    : 'no rule matched in the window';
  return { title: 'Decisions ', cells, rules };
}
