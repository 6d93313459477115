/**
 * The dashboard's state and a plain reducer. The container owns timers and I/O and dispatches these
 * actions; everything here is synchronous and pure, so it tests without Ink or a data source.
 */
import type { DashboardSnapshot, FlaggedSummary, TransactionDetail } from './snapshot.js';

/** loading: nothing yet; live: last refresh worked; stale: it failed, old data shown; error: failed, no data. */
export type ConnectionStatus = 'loading' | 'live' | 'stale' | 'error';
export type DashboardViewName = 'main' | 'detail' | 'help';
export type DetailStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface DashboardMessage {
  text: string;
  tone: 'info' | 'error';
}

export interface DashboardState {
  /** Shown in the header before the first snapshot arrives. */
  source: string;
  days: number;
  /** The last snapshot that loaded, kept through failed refreshes. */
  snapshot: DashboardSnapshot | null;
  status: ConnectionStatus;
  lastError: string | null;
  /** ISO time of the last successful refresh. */
  lastRefresh: string | null;
  /** ISO time of the last refresh outcome, success or failure: the default "now" for the stale age. */
  lastAttempt: string | null;
  refreshing: boolean;
  paused: boolean;
  view: DashboardViewName;
  /** The view that help returns to. */
  helpReturn: 'main' | 'detail';
  /** Index into snapshot.recent_flagged, and that row's id (to follow it across refreshes). */
  selected: number;
  selectedId: number | null;
  /** The transaction the detail view shows: fixed when opened, so refreshes cannot swap it. */
  detailId: number | null;
  detail: TransactionDetail | null;
  detailStatus: DetailStatus;
  savingFeedback: boolean;
  /** A transient note ("marked #12 correct", an error); the container clears it with clearMessage. */
  message: DashboardMessage | null;
  columns: number;
  rows: number;
}

export interface InitialStateOptions {
  source: string;
  days: number;
  paused?: boolean;
  columns?: number;
  rows?: number;
}

export type DashboardAction =
  | { type: 'refreshStarted' }
  | { type: 'snapshotLoaded'; snapshot: DashboardSnapshot; at: string }
  | { type: 'refreshFailed'; error: unknown; at: string }
  | { type: 'togglePause' }
  | { type: 'selectNext' }
  | { type: 'selectPrev' }
  | { type: 'openDetail' }
  | { type: 'detailLoaded'; detail: TransactionDetail }
  | { type: 'detailFailed'; error: unknown }
  | { type: 'closeDetail' }
  | { type: 'toggleHelp' }
  | { type: 'feedbackStarted' }
  | { type: 'feedbackSaved'; id: number; isCorrect: boolean; at: string; by: string | null }
  | { type: 'feedbackFailed'; error: unknown }
  | { type: 'clearMessage' }
  | { type: 'resize'; columns: number; rows: number };

/** Action creators, for call sites that read better as calls. */
export const actions = {
  refreshStarted: (): DashboardAction => ({ type: 'refreshStarted' }),
  snapshotLoaded: (snapshot: DashboardSnapshot, at: string): DashboardAction => ({
    type: 'snapshotLoaded',
    snapshot,
    at,
  }),
  refreshFailed: (error: unknown, at: string): DashboardAction => ({ type: 'refreshFailed', error, at }),
  togglePause: (): DashboardAction => ({ type: 'togglePause' }),
  selectNext: (): DashboardAction => ({ type: 'selectNext' }),
  selectPrev: (): DashboardAction => ({ type: 'selectPrev' }),
  openDetail: (): DashboardAction => ({ type: 'openDetail' }),
  detailLoaded: (detail: TransactionDetail): DashboardAction => ({ type: 'detailLoaded', detail }),
  detailFailed: (error: unknown): DashboardAction => ({ type: 'detailFailed', error }),
  closeDetail: (): DashboardAction => ({ type: 'closeDetail' }),
  toggleHelp: (): DashboardAction => ({ type: 'toggleHelp' }),
  feedbackStarted: (): DashboardAction => ({ type: 'feedbackStarted' }),
  feedbackSaved: (id: number, isCorrect: boolean, at: string, by: string | null = null): DashboardAction => ({
    type: 'feedbackSaved',
    id,
    isCorrect,
    at,
    by,
  }),
  feedbackFailed: (error: unknown): DashboardAction => ({ type: 'feedbackFailed', error }),
  clearMessage: (): DashboardAction => ({ type: 'clearMessage' }),
  resize: (columns: number, rows: number): DashboardAction => ({ type: 'resize', columns, rows }),
};

export function initialState(opts: InitialStateOptions): DashboardState {
  return {
    source: opts.source,
    days: opts.days,
    snapshot: null,
    status: 'loading',
    lastError: null,
    lastRefresh: null,
    lastAttempt: null,
    refreshing: false,
    paused: opts.paused ?? false,
    view: 'main',
    helpReturn: 'main',
    selected: 0,
    selectedId: null,
    detailId: null,
    detail: null,
    detailStatus: 'idle',
    savingFeedback: false,
    message: null,
    columns: opts.columns ?? 80,
    rows: opts.rows ?? 24,
  };
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === 'string' ? error : String(error);
}

/** The selected flagged row, if any. */
export function selectedRow(state: DashboardState): FlaggedSummary | null {
  return state.snapshot?.recent_flagged[state.selected] ?? null;
}

/** Keeps the selection on the same id if it is still listed, else clamps the index. */
function reconcile(list: readonly FlaggedSummary[], selected: number, selectedId: number | null) {
  if (list.length === 0) return { selected: 0, selectedId: null };
  const same = selectedId === null ? -1 : list.findIndex((r) => r.id === selectedId);
  const i = same >= 0 ? same : Math.min(Math.max(selected, 0), list.length - 1);
  return { selected: i, selectedId: list[i].id };
}

function move(state: DashboardState, delta: number): DashboardState {
  const list = state.snapshot?.recent_flagged ?? [];
  if (state.view !== 'main' || list.length === 0) return state;
  const selected = Math.min(Math.max(state.selected + delta, 0), list.length - 1);
  return selected === state.selected ? state : { ...state, selected, selectedId: list[selected].id };
}

/** Applies a saved verdict to the snapshot's row and feedback tally, when the previous verdict is known. */
function applyFeedback(
  s: DashboardSnapshot,
  id: number,
  isCorrect: boolean,
  prior: boolean | null | undefined,
): DashboardSnapshot {
  const row = s.recent_flagged.find((r) => r.id === id);
  const before = prior !== undefined ? prior : row ? row.feedback : undefined;
  const recent_flagged = s.recent_flagged.map((r) => (r.id === id ? { ...r, feedback: isCorrect } : r));
  if (before === undefined) return { ...s, recent_flagged };
  const total = s.feedback.total_feedback + (before === null ? 1 : 0);
  const positive = s.feedback.positive_feedback + (isCorrect ? 1 : 0) - (before === true ? 1 : 0);
  const accuracy = total === 0 ? 0 : Math.round((positive / total) * 10_000) / 100;
  return { ...s, recent_flagged, feedback: { total_feedback: total, positive_feedback: positive, accuracy } };
}

export function reduce(state: DashboardState, action: DashboardAction): DashboardState {
  switch (action.type) {
    case 'refreshStarted':
      return { ...state, refreshing: true };
    case 'snapshotLoaded': {
      const { snapshot, at } = action;
      const sel = reconcile(snapshot.recent_flagged, state.selected, state.selectedId);
      return {
        ...state,
        ...sel,
        snapshot,
        source: snapshot.source,
        days: snapshot.days,
        status: 'live',
        lastError: null,
        lastRefresh: at,
        lastAttempt: at,
        refreshing: false,
      };
    }
    case 'refreshFailed':
      return {
        ...state,
        status: state.snapshot ? 'stale' : 'error',
        lastError: errorText(action.error),
        lastAttempt: action.at,
        refreshing: false,
      };
    case 'togglePause':
      return { ...state, paused: !state.paused };
    case 'selectNext':
      return move(state, 1);
    case 'selectPrev':
      return move(state, -1);
    case 'openDetail': {
      const row = selectedRow(state);
      if (state.view !== 'main' || !row) return state;
      const cached = state.detail?.id === row.id ? state.detail : null;
      return { ...state, view: 'detail', detailId: row.id, detail: cached, detailStatus: 'loading', message: null };
    }
    case 'detailLoaded':
      // A late answer for a transaction no longer open is dropped.
      if (action.detail.id !== state.detailId) return state;
      return { ...state, detail: action.detail, detailStatus: 'ready' };
    case 'detailFailed':
      if (state.detailId === null) return state;
      return { ...state, detailStatus: 'error', message: { text: errorText(action.error), tone: 'error' } };
    case 'closeDetail':
      if (state.view === 'help') return { ...state, view: state.helpReturn };
      if (state.view !== 'detail') return state;
      return {
        ...state,
        view: 'main',
        detailId: null,
        detail: null,
        detailStatus: 'idle',
        savingFeedback: false,
        message: null,
      };
    case 'toggleHelp':
      return state.view === 'help'
        ? { ...state, view: state.helpReturn }
        : { ...state, view: 'help', helpReturn: state.view };
    case 'feedbackStarted':
      if (state.detailId === null || state.savingFeedback) return state;
      return { ...state, savingFeedback: true, message: { text: 'saving feedback…', tone: 'info' } };
    case 'feedbackSaved': {
      const { id, isCorrect, at, by } = action;
      const d = state.detail;
      const ownDetail = d !== null && d.id === id;
      const detail = ownDetail
        ? {
            ...d,
            feedback: { is_correct: isCorrect, notes: d.feedback?.notes ?? null, updated_at: at, recorded_by: by },
          }
        : d;
      const prior = ownDetail ? (d.feedback ? d.feedback.is_correct : null) : undefined;
      const snapshot = state.snapshot ? applyFeedback(state.snapshot, id, isCorrect, prior) : null;
      const text = `marked #${id} ${isCorrect ? 'correct' : 'incorrect'}`;
      return { ...state, snapshot, detail, savingFeedback: false, message: { text, tone: 'info' } };
    }
    case 'feedbackFailed':
      return {
        ...state,
        savingFeedback: false,
        message: { text: `feedback not saved: ${errorText(action.error)}`, tone: 'error' },
      };
    case 'clearMessage':
      return state.message === null ? state : { ...state, message: null };
    case 'resize':
      return { ...state, columns: action.columns, rows: action.rows };
  }
}
