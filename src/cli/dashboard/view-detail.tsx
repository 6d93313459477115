/** The detail view of one transaction: features, scores, verdict, Shapley values, risk factors, feedback. Pure. */
import { Box, Text } from 'ink';
import { DAY_NAMES, TRANSACTION_TYPE_NAMES } from '../../model/features.js';
import { formatFixed } from '../../model/number-format.js';
import type { TransactionDetail } from './snapshot.js';
import type { DetailStatus } from './state.js';
import {
  fit,
  fmtAmount,
  fmtDateTime,
  fmtInt,
  fmtPct,
  fmtScore,
  fmtSigned,
  fmtStamp,
  signedBar,
  width,
} from './format.js';
import { Line, Title, levelColor, type Paint } from './view-common.js';

const NAME_W = 18;
const FEATURES_W = 34;

/** A feature's value as the analyst reads it. */
export function featureValue(name: string, value: number): string {
  switch (name) {
    case 'amount':
      return fmtAmount(value);
    case 'hour':
      return `${String(value).padStart(2, '0')}:00 (${value})`;
    case 'day_of_week':
      return DAY_NAMES[value] ? `${DAY_NAMES[value]} (${value})` : String(value);
    case 'transaction_type':
      return TRANSACTION_TYPE_NAMES[value] ? `${TRANSACTION_TYPE_NAMES[value]} (${value})` : String(value);
    default:
      return fmtInt(value);
  }
}

function Features({ d, w, p }: { d: TransactionDetail; w: number; p: Paint }) {
  const entries = Object.entries(d.transaction) as [string, number][];
  return (
    <Box flexDirection="column" width={w}>
      <Title p={p}>{fit('Features', w)}</Title>
      {entries.map(([name, v]) => (
        <Line key={name}>{fit(name, NAME_W) + fit(featureValue(name, v), w - NAME_W, 'right')}</Line>
      ))}
    </Box>
  );
}

/** Every Shapley value as a signed bar: right of the axis pushes toward anomaly (red), left away (green). */
function Shapley({ d, w, p }: { d: TransactionDetail; w: number; p: Paint }) {
  const entries = Object.entries(d.shap_explanation).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const maxAbs = Math.max(0, ...entries.map(([, v]) => Math.abs(v)));
  const valueW = 8;
  const nameW = Math.min(NAME_W, Math.max(...entries.map(([k]) => width(k)), 4) + 1);
  const half = Math.max(1, Math.floor((w - nameW - valueW - 2) / 2));
  return (
    <Box flexDirection="column" width={w}>
      <Title p={p}>{fit('Shapley values (+ toward anomaly)', w)}</Title>
      {entries.map(([name, v]) => {
        // Without colour the two sides also differ in texture.
        const [left, right] = signedBar(v, maxAbs, half, v < 0 && !p.color ? '▒' : '█');
        return (
          <Line key={name}>
            {fit(name, nameW)}
            <Text color={p.fg('green')}>{left}</Text>
            {'│'}
            <Text color={p.fg('red')}>{right}</Text>
            {' ' + fit(fmtSigned(v), valueW - 1, 'right')}
          </Line>
        );
      })}
    </Box>
  );
}

function Feedback({ d, columns, p }: { d: TransactionDetail; columns: number; p: Paint }) {
  const f = d.feedback;
  if (!f) return <Line>{fit('Feedback: none yet', columns)}</Line>;
  const verdict = f.is_correct ? '✓ correct' : '✗ incorrect';
  const by = f.recorded_by ? ` by ${f.recorded_by}` : '';
  const rest = ` (recorded${by} ${fmtStamp(f.updated_at)})${f.notes ? ` · ${f.notes}` : ''}`;
  return (
    <Line>
      {'Feedback: '}
      <Text bold color={p.fg(f.is_correct ? 'green' : 'red')}>
        {verdict}
      </Text>
      {fit(rest, Math.max(0, columns - 10 - width(verdict)))}
    </Line>
  );
}

export function DetailBody(props: {
  detail: TransactionDetail | null;
  detailId: number | null;
  status: DetailStatus;
  columns: number;
  rows: number;
  p: Paint;
}) {
  const { detail: d, detailId, status, columns, rows, p } = props;
  if (!d || d.id !== detailId) {
    const text =
      status === 'error'
        ? `Could not load transaction #${detailId ?? '?'}.`
        : `Loading transaction #${detailId ?? '?'}…`;
    return (
      <Box marginTop={1} width={columns}>
        <Line>{fit(text, columns)}</Line>
      </Box>
    );
  }
  const sideBySide = columns >= 76;
  const fw = sideBySide ? FEATURES_W : columns;
  const sw = sideBySide ? columns - FEATURES_W - 2 : columns;
  const verdict = d.is_anomaly ? 'ANOMALY' : 'normal';
  const scores = ` · ${d.risk_level} · score ${fmtScore(d.anomaly_score)} · risk ${formatFixed(d.risk_score, 1)}/100 · confidence ${fmtPct(d.confidence * 100, 0)}`;
  // Header 2, blank, title 2, blank, the panels, blank, factors title, feedback, blank, footer: the rest is for factors.
  const panelH =
    1 + Math.max(Object.keys(d.transaction).length, sideBySide ? Object.keys(d.shap_explanation).length : 0);
  const stackedExtra = sideBySide ? 0 : 2 + Object.keys(d.shap_explanation).length;
  const factorRows = Math.max(1, rows - (11 + panelH + stackedExtra));
  return (
    <Box flexDirection="column" width={columns} marginTop={1}>
      <Line bold>
        {fit(
          `Transaction #${d.id} · ${fmtDateTime(d.created_at)} · via ${d.source} · model ${d.model_version}`,
          columns,
        )}
      </Line>
      <Line>
        <Text bold color={p.fg(d.is_anomaly ? 'red' : 'green')}>
          {verdict}
        </Text>
        <Text color={p.fg(levelColor(d.risk_level))}>{fit(scores, columns - verdict.length)}</Text>
      </Line>
      <Box marginTop={1} flexDirection={sideBySide ? 'row' : 'column'}>
        <Features d={d} w={fw} p={p} />
        <Box marginLeft={sideBySide ? 2 : 0} marginTop={sideBySide ? 0 : 1}>
          <Shapley d={d} w={sw} p={p} />
        </Box>
      </Box>
      <Box marginTop={1} flexDirection="column">
        <Title p={p}>{fit('Risk factors', columns)}</Title>
        {d.risk_factors.length === 0 ? (
          <Line>{fit('No feature pushes this transaction toward anomaly.', columns)}</Line>
        ) : (
          d.risk_factors
            .slice(0, factorRows)
            .map((f) => (
              <Line key={f.feature}>{fit(`• ${f.description} (${fmtSigned(f.contribution)})`, columns)}</Line>
            ))
        )}
      </Box>
      <Feedback d={d} columns={columns} p={p} />
    </Box>
  );
}
