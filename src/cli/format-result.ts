import type { ScoreResult } from '../core/scored-views.js';
import { DAY_NAMES, TRANSACTION_TYPE_NAMES } from '../model/features.js';
import { formatGrouped } from '../model/number-format.js';
import type { Painter } from './terminal.js';

const BAR_WIDTH = 24;

/** One scored transaction for a person at a terminal: verdict, features, every Shapley value as a bar. */
export function formatResultText(r: ScoreResult, p: Painter): string {
  const t = r.transaction;
  const verdict = r.is_anomaly ? p.bold(p.red('FLAGGED')) : p.green('normal');
  const lines = [
    `${verdict}  anomaly score ${r.anomaly_score.toFixed(4)}  risk ${r.risk_score.toFixed(1)}/100 ${r.risk_level}  confidence ${r.confidence.toFixed(2)}`,
    p.dim(
      `amount ${formatGrouped(t.amount, 2)} · hour ${t.hour} · ` +
        `${DAY_NAMES[t.day_of_week]} · category ${t.merchant_category} · ${TRANSACTION_TYPE_NAMES[t.transaction_type] ?? `type ${t.transaction_type}`}` +
        `${r.reference ? ` · ref ${r.reference}` : ''} · model ${r.model_version}`,
    ),
    decisionLine(r, p),
    '',
    'Shapley values (+ pushes toward anomaly, in path-length units):',
  ];
  const entries = Object.entries(r.shap_explanation);
  const max = Math.max(1e-12, ...entries.map(([, v]) => Math.abs(v)));
  for (const [name, v] of entries) {
    const bar = '█'.repeat(Math.max(v === 0 ? 0 : 1, Math.round((Math.abs(v) / max) * BAR_WIDTH)));
    const sign = v >= 0 ? '+' : '-';
    lines.push(`  ${name.padEnd(18)} ${sign}${Math.abs(v).toFixed(4)}  ${v > 0 ? p.red(bar) : p.green(bar)}`);
  }
  if (r.risk_factors.length > 0) {
    lines.push('', 'Risk factors:');
    for (const f of r.risk_factors) lines.push(`  - ${f.description}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The decision, and why: the rules that matched (the deciding one first in precedence) or the model's flag. */
function decisionLine(r: ScoreResult, p: Painter): string {
  const shown = r.decision === 'block' ? p.bold(p.red('BLOCK')) : r.decision === 'review' ? p.bold('REVIEW') : 'ALLOW';
  const why =
    r.matched_rules.length > 0
      ? `rules matched: ${r.matched_rules.map((m) => `${m.name} (${m.action})`).join(', ')}`
      : r.is_anomaly
        ? 'no rule matched: the model flags it'
        : 'no rule matched';
  const failed = r.rule_errors?.length
    ? `; rules failed: ${r.rule_errors.map((e) => `${e.rule}: ${e.error}`).join('; ')}`
    : '';
  return `decision ${shown}  ${why}${failed}`;
}
