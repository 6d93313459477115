/** The main view's panels: tiles, hourly chart, risk levels, throughput, recent flagged. Pure. */
import { Box, Text } from 'ink';
import type { DashboardSnapshot } from './snapshot.js';
import { fit, fmtCompact, fmtInt, fmtPct, fmtScore, width } from './format.js';
import {
  decisionsPanel,
  driftCells,
  flaggedTable,
  hourlyChart,
  riskRows,
  throughputPanel,
  windowStart,
} from './panels.js';
import { Line, Title, levelColor, type Paint } from './view-common.js';

export interface MainLayout {
  /** Panels one under another (below 76 columns). */
  stacked: boolean;
  /** 110+ columns: the tiles become a column beside the charts (freeing rows for the table), extra table columns. */
  wide: boolean;
  /** Width of the tiles column when wide, else 0 (tiles are a row). */
  tilesW: number;
  /** Characters per hour in the hourly chart. */
  cw: number;
  barHeight: number;
  leftW: number;
  rightW: number;
  gap: number;
  /** Blank lines between sections (0 when the terminal is short). */
  spacing: number;
  flaggedRows: number;
  /** Rows of the drift line: 1 when the snapshot carries drift figures. */
  driftRows: number;
  /** Rows of decisions and top rules: 2 on tall terminals, else 1 (both on one line), 0 without them or room. */
  decisionRows: number;
}

/** Sizes from the terminal: whatever rows the charts leave go to the flagged table. */
export function mainLayout(columns: number, rows: number, withDrift = false, withDecisions = false): MainLayout {
  const wide = columns >= 110;
  const stacked = columns < 76;
  const gap = 2;
  // 20 columns leave the right panel 48 at 120 columns: all 48 throughput buckets fit.
  const tilesW = wide ? 20 : 0;
  const cw = columns >= 150 ? 3 : columns >= 48 ? 2 : 1;
  const leftW = 24 * cw;
  const rightW = stacked ? columns : columns - (wide ? tilesW + gap : 0) - leftW - gap;
  const barHeight = rows >= 40 ? 6 : rows >= 32 ? 4 : 3;
  const spacing = rows >= 24 ? 1 : 0;
  const hourlyH = barHeight + 3;
  const rightH = 6;
  const chartsH = stacked ? hourlyH + spacing + rightH : Math.max(hourlyH, rightH, wide ? 6 : 0);
  // header 2, table title and header 2, footer 1, the charts, their spacers; tiles 2 + a spacer unless wide.
  const panels = 5 + 2 * spacing + chartsH + (wide ? 0 : 2 + spacing);
  // The drift line takes a row from the flagged table, only while the table keeps at least one.
  const driftRows = withDrift && rows - panels >= 2 ? 1 : 0;
  // Decisions likewise, after drift: two lines from 30 rows, else one, while the table keeps a row.
  const left = rows - panels - driftRows;
  const decisionRows = !withDecisions || left < 2 ? 0 : rows >= 30 && left >= 3 ? 2 : 1;
  const fixed = panels + driftRows + decisionRows;
  return {
    stacked,
    wide,
    tilesW,
    cw,
    barHeight,
    leftW,
    rightW,
    gap,
    spacing,
    flaggedRows: Math.max(1, rows - fixed),
    driftRows,
    decisionRows,
  };
}

/** A title with a right-hand note on one line of `w` columns. */
function TitleRow({
  left,
  right,
  w,
  p,
  rightColor,
}: {
  left: string;
  right: string;
  w: number;
  p: Paint;
  rightColor?: string;
}) {
  const room = width(right) + 1 <= w;
  return (
    <Line>
      <Text bold color={p.fg('cyan')}>
        {room ? fit(left, w - width(right) - 1) + ' ' : fit(left, w)}
      </Text>
      <Text color={rightColor ? p.fg(rightColor) : undefined}>{room ? right : ''}</Text>
    </Line>
  );
}

/** Label, value (counts shortened to 12.3k when longer than `w`) and colour of each headline number. */
function tiles(s: DashboardSnapshot, w: number): [string, string, string | undefined][] {
  const fb = s.feedback;
  const count = (n: number) => (fmtInt(n).length > w ? fmtCompact(n) : fmtInt(n));
  return [
    ['Transactions', count(s.stats.total_transactions), undefined],
    ['Flagged', count(s.stats.anomalies_detected), 'red'],
    ['Anomaly rate', fmtPct(s.stats.anomaly_rate, 2), 'red'],
    ['Mean score', fmtScore(s.stats.avg_anomaly_score), undefined],
    ['Feedback', count(fb.total_feedback), undefined],
    ['Accuracy', fb.total_feedback > 0 ? fmtPct(fb.accuracy) : 'n/a', 'green'],
  ];
}

/** The headline numbers: a row of label-over-value tiles, or a column of label-value lines when wide. */
function Tiles({ s, columns, L, p }: { s: DashboardSnapshot; columns: number; L: MainLayout; p: Paint }) {
  if (L.tilesW > 0) {
    const labelW = 13;
    return (
      <Box flexDirection="column" width={L.tilesW} marginRight={L.gap}>
        {tiles(s, L.tilesW - labelW).map(([label, value, c]) => (
          <Line key={label}>
            <Text dimColor={p.dim}>{fit(label, labelW)}</Text>
            <Text bold color={c ? p.fg(c) : undefined}>
              {fit(value, L.tilesW - labelW, 'right')}
            </Text>
          </Line>
        ))}
      </Box>
    );
  }
  const tw = Math.floor(columns / 6);
  const all = tiles(s, tw - 1);
  return (
    <Box flexDirection="column" marginBottom={L.spacing}>
      <Text wrap="truncate-end" dimColor={p.dim}>
        {all.map(([label]) => fit(label, tw - 1) + ' ').join('')}
      </Text>
      <Line>
        {all.map(([label, value, c]) => (
          <Text key={label} bold color={c ? p.fg(c) : undefined}>
            {fit(value, tw - 1) + ' '}
          </Text>
        ))}
      </Line>
    </Box>
  );
}

function Hourly({ s, L, p }: { s: DashboardSnapshot; L: MainLayout; p: Paint }) {
  // Without colour the share row is drawn in shades, so it reads differently from the volume bars.
  const c = hourlyChart(s.hourly_distribution, L.cw, L.barHeight, !p.color);
  return (
    <Box flexDirection="column" width={L.leftW}>
      <TitleRow left={c.title} right={c.legend} w={L.leftW} p={p} rightColor="red" />
      {c.bars.map((line, r) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: the chart's rows are positions, top to bottom; they never reorder
        <Text key={r} wrap="truncate-end" color={p.fg('cyan')}>
          {line}
        </Text>
      ))}
      <Text wrap="truncate-end" color={p.fg('red')}>
        {c.share}
      </Text>
      <Text wrap="truncate-end" dimColor={p.dim}>
        {c.axis}
      </Text>
    </Box>
  );
}

function Risk({ s, L, p }: { s: DashboardSnapshot; L: MainLayout; p: Paint }) {
  return (
    <Box flexDirection="column">
      <Title p={p}>{fit('Risk levels', L.rightW)}</Title>
      {riskRows(s.risk_levels, L.rightW, L.wide).map((r) => (
        <Line key={r.name}>
          {r.text}
          <Text color={p.fg(levelColor(r.name))}>{r.bar}</Text>
        </Line>
      ))}
    </Box>
  );
}

function Throughput({ s, L, p }: { s: DashboardSnapshot; L: MainLayout; p: Paint }) {
  const t = throughputPanel(s.throughput, L.rightW);
  return (
    <Box flexDirection="column">
      <TitleRow left={t.title} right={t.range} w={L.rightW} p={p} />
      <Text wrap="truncate-end" color={p.fg('cyan')}>
        {t.spark}
      </Text>
    </Box>
  );
}

/** One line: the PSI of each feature and of the score over the window, coloured by band, and the verdict. */
function Drift({ drift, columns, p }: { drift: NonNullable<DashboardSnapshot['drift']>; columns: number; p: Paint }) {
  const d = driftCells(drift);
  const color = (band: string | null) =>
    band === 'drifted'
      ? p.fg('red')
      : band === 'watch'
        ? p.fg('yellow')
        : band === 'stable'
          ? p.fg('green')
          : undefined;
  const used = width(d.title) + d.cells.reduce((n, c) => n + width(c.text), 0);
  return (
    <Line>
      <Text bold color={p.fg('cyan')}>
        {d.title}
      </Text>
      {d.cells.map((c) => (
        <Text key={c.text} color={color(c.band)}>
          {c.text}
        </Text>
      ))}
      <Text bold color={color(d.verdict.band)}>
        {fit(d.verdict.text, Math.max(0, columns - used))}
      </Text>
    </Line>
  );
}

/** Decisions over the window, coloured by decision, and the rules that fired most: on two lines, or one. */
function Decisions({
  panel,
  lines,
  columns,
  p,
}: {
  panel: NonNullable<ReturnType<typeof decisionsPanel>>;
  lines: number;
  columns: number;
  p: Paint;
}) {
  const color = (d: string) => p.fg(d === 'block' ? 'red' : d === 'review' ? 'yellow' : 'green');
  const used = width(panel.title) + panel.cells.reduce((n, c) => n + width(c.lead) + width(c.text), 0);
  const rulesTitle = 'Rules firing most ';
  const counts = (
    <>
      <Text bold color={p.fg('cyan')}>
        {panel.title}
      </Text>
      {panel.cells.map((c) => (
        <Text key={c.decision}>
          {c.lead}
          <Text color={color(c.decision)}>{c.text}</Text>
        </Text>
      ))}
    </>
  );
  if (lines < 2)
    return (
      <Line>
        {counts}
        <Text>{fit(`  rules: ${panel.rules}`, Math.max(0, columns - used))}</Text>
      </Line>
    );
  return (
    <Box flexDirection="column">
      <Line>{counts}</Line>
      <Line>
        <Text bold color={p.fg('cyan')}>
          {rulesTitle}
        </Text>
        {fit(panel.rules, Math.max(0, columns - width(rulesTitle)))}
      </Line>
    </Box>
  );
}

function Flagged({
  s,
  selected,
  L,
  columns,
  p,
}: {
  s: DashboardSnapshot;
  selected: number;
  L: MainLayout;
  columns: number;
  p: Paint;
}) {
  const list = s.recent_flagged;
  if (list.length === 0) {
    return (
      <Box flexDirection="column">
        <Title p={p}>Recent flagged</Title>
        <Line>{fit(`No flagged transactions in the last ${s.days} days.`, columns)}</Line>
      </Box>
    );
  }
  const n = Math.min(L.flaggedRows, list.length);
  const start = windowStart(selected, n, list.length);
  const table = flaggedTable(list, columns, L.wide);
  const range = n < list.length ? `${start + 1}-${start + n} of ${list.length}` : `${list.length} newest`;
  return (
    <Box flexDirection="column">
      <TitleRow left="Recent flagged" right={range} w={columns} p={p} />
      <Text wrap="truncate-end" bold dimColor={p.dim}>
        {table.head}
      </Text>
      {table.rows.slice(start, start + n).map((r, i) => (
        <Line key={r.id} inverse={start + i === selected}>
          {r.pre}
          <Text color={r.mark.trim() ? p.fg(r.mark.startsWith('✓') ? 'green' : 'red') : undefined}>{r.mark}</Text>
          {r.factor}
        </Line>
      ))}
    </Box>
  );
}

export function MainBody({
  s,
  selected,
  columns,
  rows,
  p,
}: {
  s: DashboardSnapshot;
  selected: number;
  columns: number;
  rows: number;
  p: Paint;
}) {
  const decisions = decisionsPanel(s);
  const L = mainLayout(columns, rows, Boolean(s.drift), decisions !== null);
  return (
    <Box flexDirection="column" width={columns} marginTop={L.spacing}>
      {L.wide ? null : <Tiles s={s} columns={columns} L={L} p={p} />}
      <Box flexDirection={L.stacked ? 'column' : 'row'}>
        {L.wide ? <Tiles s={s} columns={columns} L={L} p={p} /> : null}
        <Hourly s={s} L={L} p={p} />
        <Box
          flexDirection="column"
          width={L.rightW}
          marginLeft={L.stacked ? 0 : L.gap}
          marginTop={L.stacked ? L.spacing : 0}
        >
          <Risk s={s} L={L} p={p} />
          <Throughput s={s} L={L} p={p} />
        </Box>
      </Box>
      {s.drift && L.driftRows > 0 ? <Drift drift={s.drift} columns={columns} p={p} /> : null}
      {decisions && L.decisionRows > 0 ? (
        <Decisions panel={decisions} lines={L.decisionRows} columns={columns} p={p} />
      ) : null}
      <Box marginTop={L.spacing}>
        <Flagged s={s} selected={selected} L={L} columns={columns} p={p} />
      </Box>
    </Box>
  );
}
