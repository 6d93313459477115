/**
 * The dashboard's pure view: state and terminal size in, boxes and text out. Layout comes from the
 * columns/rows props (never process.stdout), so tests can render any size.
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { DashboardState } from './state.js';
import { fit, fmtAge, fmtAlertRate, fmtClock, truncate, width } from './format.js';
import { KEY_HELP } from './keys.js';
import { Line, Title, paint, type Paint } from './view-common.js';
import { MainBody } from './view-main.js';
import { DetailBody } from './view-detail.js';

export interface DashboardViewProps {
  state: DashboardState;
  columns: number;
  rows: number;
  /** false: no colour at all (NO_COLOR, TERM=dumb); bold and inverse remain. */
  color: boolean;
  /** The time the stale age is measured to (ISO or epoch ms); defaults to the last refresh attempt. */
  now?: string | number;
}

const SEP = ' · ';

function Header({
  state,
  columns,
  p,
  now,
}: {
  state: DashboardState;
  columns: number;
  p: Paint;
  now?: string | number;
}) {
  const s = state.snapshot;
  const model = s ? `model ${s.model_version ?? 'none'}` : null;
  const first = [
    'secureflow dashboard',
    model,
    s?.alert_rate ? fmtAlertRate(s.alert_rate, true) : null,
    `last ${state.days} day${state.days === 1 ? '' : 's'}`,
    s?.source ?? state.source,
  ]
    .filter(Boolean)
    .join(SEP);
  const nowMs =
    now === undefined ? Date.parse(state.lastAttempt ?? '') : typeof now === 'number' ? now : Date.parse(now);
  const age = state.lastRefresh && Number.isFinite(nowMs) ? fmtAge(nowMs - Date.parse(state.lastRefresh)) : null;
  // A refresh in flight swaps the dot for ↻ rather than adding words, so the line does not jump.
  const dot = state.refreshing ? '↻' : '●';
  const badge: { text: string; color: string } = {
    loading: { text: `${state.refreshing ? '↻' : '◌'} loading`, color: 'cyan' },
    live: { text: `${dot} live`, color: 'green' },
    stale: { text: `${dot} stale${age ? ` ${age}` : ''}`, color: 'yellow' },
    error: { text: `${dot} error`, color: 'red' },
  }[state.status];
  const rest = [
    state.paused ? '‖ paused' : null,
    state.lastRefresh ? `refreshed ${fmtClock(state.lastRefresh)}` : null,
    state.lastError && state.status !== 'live' ? state.lastError : null,
  ].filter(Boolean);
  const tail = rest.length ? SEP + rest.join(SEP) : '';
  return (
    <Box flexDirection="column">
      <Line bold>{truncate(first, columns)}</Line>
      <Line>
        <Text bold color={p.fg(badge.color)}>
          {truncate(badge.text, columns)}
        </Text>
        <Text color={state.paused ? p.fg('yellow') : undefined}>
          {fit(tail, Math.max(0, columns - width(badge.text)))}
        </Text>
      </Line>
    </Box>
  );
}

function hints(state: DashboardState): string {
  const pause = state.paused ? 'p resume' : 'p pause';
  if (state.view === 'help') return 'esc back · ? close help · q quit';
  if (state.view === 'detail') return `c correct · i incorrect · esc back · r refresh · ${pause} · ? help · q quit`;
  return `↑↓ select · enter detail · r refresh · ${pause} · ? help · q quit`;
}

function Footer({ state, columns, p }: { state: DashboardState; columns: number; p: Paint }) {
  const m = state.message;
  const lead = m ? fit(m.text, Math.min(width(m.text), Math.max(0, columns - 10))) : '';
  const sep = lead ? ' │ ' : '';
  return (
    <Line>
      <Text bold color={m ? p.fg(m.tone === 'error' ? 'red' : 'green') : undefined}>
        {lead}
      </Text>
      <Text dimColor={p.dim}>{fit(sep + hints(state), Math.max(0, columns - width(lead)))}</Text>
    </Line>
  );
}

function Help({ columns, p }: { columns: number; p: Paint }) {
  const keyW = Math.max(...KEY_HELP.map((k) => width(k.keys))) + 2;
  const notes = [
    'Hourly volume: one bar per hour of day (totals over the window); the row beneath',
    'is the flagged share per hour, scaled to the busiest share.',
    'Shapley values: right of the axis pushes toward anomaly, left away from it.',
    'Stale: the last refresh failed; the data shown is from the last one that worked.',
  ];
  return (
    <Box flexDirection="column" marginTop={1} width={columns}>
      <Title p={p}>{fit('Keys', columns)}</Title>
      {KEY_HELP.map((k) => (
        <Line key={k.keys}>
          <Text bold>{fit(`  ${k.keys}`, keyW + 2)}</Text>
          {fit(k.what, Math.max(0, columns - keyW - 2))}
        </Line>
      ))}
      <Box marginTop={1} flexDirection="column">
        {notes.map((n) => (
          <Line key={n}>{fit(n, columns)}</Line>
        ))}
      </Box>
    </Box>
  );
}

/** Before the first snapshot: loading, or the error that prevented it. */
function Placeholder({ state, columns }: { state: DashboardState; columns: number }) {
  const text =
    state.status === 'error' ? `Could not load the dashboard: ${state.lastError ?? 'unknown error'}` : 'Loading…';
  return (
    <Box marginTop={1} width={columns}>
      <Line>{fit(text, columns)}</Line>
    </Box>
  );
}

export function DashboardView({ state, columns, rows, color, now }: DashboardViewProps) {
  const p = paint(color);
  const cols = Math.max(20, Math.floor(columns));
  let body: ReactNode;
  if (state.view === 'help') body = <Help columns={cols} p={p} />;
  else if (state.view === 'detail')
    body = (
      <DetailBody
        detail={state.detail}
        detailId={state.detailId}
        status={state.detailStatus}
        columns={cols}
        rows={rows}
        p={p}
      />
    );
  else if (state.snapshot)
    body = <MainBody s={state.snapshot} selected={state.selected} columns={cols} rows={rows} p={p} />;
  else body = <Placeholder state={state} columns={cols} />;
  return (
    <Box flexDirection="column" width={cols}>
      <Header state={state} columns={cols} p={p} now={now} />
      {body}
      <Box marginTop={state.view === 'main' ? 0 : 1}>
        <Footer state={state} columns={cols} p={p} />
      </Box>
    </Box>
  );
}
