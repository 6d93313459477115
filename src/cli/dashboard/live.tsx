/**
 * The live dashboard's container: it owns the data (the source), the timers and the keys, and hands the
 * state to the pure view. Loaded only by `secureflow dashboard`.
 */
import { render, useApp, useInput, useStdout } from 'ink';
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import type { IOStreams } from '../io.js';
import { keyIntent } from './keys.js';
import type { DashboardSource } from './snapshot.js';
import { actions, initialState, reduce } from './state.js';
import { DashboardView } from './view.js';

export interface ContainerProps {
  source: DashboardSource;
  days: number;
  intervalMs: number;
  color: boolean;
  /** For tests: the terminal's size when there is no real one. */
  size?: { columns: number; rows: number };
  now?: () => number;
}

const iso = (t: number) => new Date(t).toISOString();

export function DashboardContainer({ source, days, intervalMs, color, size, now = Date.now }: ContainerProps) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [state, dispatch] = useReducer(
    reduce,
    initialState({
      source: source.description,
      days,
      columns: size?.columns ?? stdout.columns ?? 80,
      rows: size?.rows ?? stdout.rows ?? 24,
    }),
  );
  const [clock, setClock] = useState(now());
  const inflight = useRef(false);
  const paused = useRef(state.paused);
  paused.current = state.paused;

  // One refresh at a time; a failure keeps the last data on screen, marked stale, and the next tick retries.
  const refresh = useCallback(async () => {
    if (inflight.current) return;
    inflight.current = true;
    dispatch(actions.refreshStarted());
    try {
      const snapshot = await source.snapshot(days);
      dispatch(actions.snapshotLoaded(snapshot, iso(now())));
    } catch (e) {
      dispatch(actions.refreshFailed(e, iso(now())));
    } finally {
      inflight.current = false;
    }
  }, [source, days, now]);

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => {
      setClock(now());
      if (!paused.current) void refresh();
    }, intervalMs);
    return () => clearInterval(timer);
  }, [refresh, intervalMs, now]);

  useEffect(() => {
    if (size) return;
    const onResize = () => dispatch(actions.resize(stdout.columns, stdout.rows));
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, size]);

  // The detail view asks for its transaction when it opens.
  useEffect(() => {
    if (state.view !== 'detail' || state.detailId === null || state.detailStatus !== 'loading') return;
    const id = state.detailId;
    source.transaction(id).then(
      (detail) => dispatch(actions.detailLoaded(detail)),
      (e) => dispatch(actions.detailFailed(e)),
    );
  }, [source, state.view, state.detailId, state.detailStatus]);

  useEffect(() => {
    if (!state.message) return;
    const timer = setTimeout(() => dispatch(actions.clearMessage()), 4000);
    return () => clearTimeout(timer);
  }, [state.message]);

  useInput((input, key) => {
    const intent = keyIntent(input, key, state.view);
    if (!intent) return;
    switch (intent.type) {
      case 'quit':
        exit();
        return;
      case 'refresh':
        void refresh();
        return;
      case 'feedback': {
        const id = state.detailId;
        if (id === null || state.savingFeedback) return;
        dispatch(actions.feedbackStarted());
        source.feedback(id, intent.isCorrect).then(
          (by) => dispatch(actions.feedbackSaved(id, intent.isCorrect, iso(now()), by ?? null)),
          (e) => dispatch(actions.feedbackFailed(e)),
        );
        return;
      }
      default:
        dispatch(intent);
    }
  });

  return <DashboardView state={state} columns={state.columns} rows={state.rows} color={color} now={clock} />;
}

/** Draws the dashboard on the command's terminal streams (which the caller checked are terminals) until the user quits. */
export async function runLiveDashboard(
  source: DashboardSource,
  opts: { days: number; intervalMs: number; color: boolean },
  io: IOStreams,
): Promise<void> {
  // Ink types them as process streams; it uses what any terminal stream has (columns, rows, resize, setRawMode).
  const app = render(
    <DashboardContainer source={source} days={opts.days} intervalMs={opts.intervalMs} color={opts.color} />,
    {
      exitOnCtrlC: true,
      stdout: io.stdout as NodeJS.WriteStream,
      stdin: io.stdin as NodeJS.ReadStream,
      stderr: io.stderr as NodeJS.WriteStream,
    },
  );
  await app.waitUntilExit();
}
