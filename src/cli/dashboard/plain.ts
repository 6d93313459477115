/**
 * `dashboard --once` on a non-terminal: the same panels as plain text, 80 columns, no ANSI codes,
 * so it reads in a log, an e-mail or a diff.
 */
import type { DashboardSnapshot } from './snapshot.js';
import {
  fit,
  fmtAlertRate,
  fmtDateTime,
  fmtInt,
  fmtPct,
  fmtScore,
  fmtStamp,
  joinFit,
  truncate,
  width,
} from './format.js';
import { decisionsPanel, flaggedTable, fmtPsi, hourlyChart, riskRows, throughputPanel } from './panels.js';

const W = 80;

export function renderPlain(snapshot: DashboardSnapshot): string {
  const s = snapshot;
  const out: string[] = [];
  const blank = () => out.push('');
  const days = `last ${s.days} day${s.days === 1 ? '' : 's'}`;

  out.push(truncate(`secureflow dashboard · model ${s.model_version ?? 'none'} · ${days} · ${s.source}`, W));
  out.push(truncate(`since ${fmtDateTime(s.since)} · generated ${fmtDateTime(s.generated_at)}`, W));
  if (s.alert_rate) out.push(truncate(fmtAlertRate(s.alert_rate), W));
  blank();

  const fb = s.feedback;
  const tiles: [string, string][] = [
    ['Transactions', fmtInt(s.stats.total_transactions)],
    ['Flagged', fmtInt(s.stats.anomalies_detected)],
    ['Anomaly rate', fmtPct(s.stats.anomaly_rate, 2)],
    ['Mean score', fmtScore(s.stats.avg_anomaly_score)],
    ['Feedback', fmtInt(fb.total_feedback)],
    ['Accuracy', fb.total_feedback > 0 ? fmtPct(fb.accuracy) : 'n/a'],
  ];
  const tw = Math.floor(W / tiles.length);
  out.push(tiles.map(([label]) => fit(label, tw - 1)).join(' '));
  out.push(tiles.map(([, value]) => fit(value, tw - 1)).join(' '));
  blank();

  // Shades mark the flagged-share row, since there is no colour to tell it from the bars.
  const hourly = hourlyChart(s.hourly_distribution, 3, 4, true);
  out.push(joinFit(hourly.title, `${hourly.legend} (row below the bars)`, W));
  out.push(...hourly.bars, hourly.share, hourly.axis);
  blank();

  out.push('Risk levels');
  for (const r of riskRows(s.risk_levels, 48, true)) out.push(r.text + r.bar);
  blank();

  const t = throughputPanel(s.throughput, W);
  out.push(joinFit(t.title, t.range, W));
  out.push(t.spark);
  if (s.throughput.length > 0)
    out.push(joinFit(fmtStamp(s.throughput[0].start), fmtStamp(s.generated_at), Math.max(width(t.spark), 24)));
  blank();

  if (s.drift) {
    out.push(joinFit(`Drift PSI against training, ${days}`, '< 0.1 stable, >= 0.25 drifted', W));
    for (const f of [...s.drift.features, ...(s.drift.score ? [{ name: 'anomaly_score', ...s.drift.score }] : [])]) {
      const shift = `${f.largest_shift.bin}: ${fmtPct(100 * f.largest_shift.expected)} -> ${fmtPct(100 * f.largest_shift.actual)}`;
      out.push(
        truncate(
          `${fit(f.name, 18)}${fit(f.psi < 10 ? f.psi.toFixed(4) : fmtPsi(f.psi), 6, 'right')}  ${fit(f.band, 8)} ${shift}`,
          W,
        ),
      );
    }
    blank();
  }

  const decisions = decisionsPanel(s);
  if (decisions) {
    out.push(truncate(decisions.title + decisions.cells.map((c) => c.lead + c.text).join(''), W));
    out.push(truncate(`Rules firing most ${decisions.rules}`, W));
    blank();
  }

  out.push(joinFit('Recent flagged', `${s.recent_flagged.length} newest`, W));
  if (s.recent_flagged.length === 0) out.push(`No flagged transactions in the ${days}.`);
  else {
    const table = flaggedTable(s.recent_flagged, W, false);
    out.push(table.head);
    for (const r of table.rows) out.push(r.pre + r.mark + r.factor);
  }
  return `${out.map((l) => l.trimEnd()).join('\n')}\n`;
}
