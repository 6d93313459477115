import { describe, expect, it } from 'vitest';
import {
  actions,
  initialState,
  reduce,
  selectedRow,
  type DashboardAction,
  type DashboardState,
} from '../../src/cli/dashboard/state.js';
import { keyIntent } from '../../src/cli/dashboard/keys.js';
import {
  fixtureDecisions,
  fixtureDetail,
  fixtureSnapshot,
  GENERATED_AT,
  RECENT_FLAGGED,
} from './dashboard-fixtures.js';

const T1 = GENERATED_AT;
const T2 = '2025-03-14T12:00:02.000Z';
const run = (s: DashboardState, ...as: DashboardAction[]) => as.reduce(reduce, s);
const loaded = () =>
  run(
    initialState({ source: 'test', days: 7 }),
    actions.refreshStarted(),
    actions.snapshotLoaded(fixtureSnapshot(), T1),
  );

describe('dashboard reducer: refresh', () => {
  it('starts loading with nothing to show', () => {
    const s = initialState({ source: 'sqlite x.db', days: 7 });
    expect(s).toMatchObject({
      status: 'loading',
      snapshot: null,
      paused: false,
      view: 'main',
      selectedId: null,
      columns: 80,
      rows: 24,
    });
  });

  it('goes live on a snapshot and selects the newest flagged row', () => {
    const s0 = reduce(initialState({ source: 'x', days: 7 }), actions.refreshStarted());
    expect(s0.refreshing).toBe(true);
    const s = reduce(s0, actions.snapshotLoaded(fixtureSnapshot(), T1));
    expect(s).toMatchObject({
      status: 'live',
      refreshing: false,
      lastRefresh: T1,
      lastAttempt: T1,
      lastError: null,
      selected: 0,
      selectedId: 12034,
    });
    expect(s.source).toBe('sqlite ~/.local/share/secureflow/secureflow.db');
  });

  it('keeps the last snapshot and marks it stale when a refresh fails', () => {
    const before = loaded();
    const s = run(before, actions.refreshStarted(), actions.refreshFailed(new Error('connect ECONNREFUSED'), T2));
    expect(s.snapshot).toBe(before.snapshot);
    expect(s).toMatchObject({
      status: 'stale',
      lastError: 'connect ECONNREFUSED',
      lastRefresh: T1,
      lastAttempt: T2,
      refreshing: false,
    });
    const again = reduce(s, actions.snapshotLoaded(fixtureSnapshot(), T2));
    expect(again).toMatchObject({ status: 'live', lastError: null, lastRefresh: T2 });
  });

  it('keeps decisions and top rules through a failed refresh and a verdict; an older daemon has none', () => {
    const withDecisions = fixtureSnapshot(fixtureDecisions());
    const s = run(
      initialState({ source: 'x', days: 7 }),
      actions.snapshotLoaded(withDecisions, T1),
      actions.refreshFailed(new Error('connection refused'), T2),
      actions.openDetail(),
      actions.detailLoaded(fixtureDetail({ id: 12034 })),
      actions.feedbackStarted(),
      actions.feedbackSaved(12034, true, T2),
    );
    expect(s.status).toBe('stale');
    expect(s.snapshot?.decisions).toEqual({ allow: 10_884, review: 1_105, block: 38 });
    expect(s.snapshot?.top_rules?.map((r) => r.name)).toEqual(['big-night-transfer', 'new-merchant', 'vip.allow-list']);
    const older = reduce(s, actions.snapshotLoaded(fixtureSnapshot(), T2));
    expect(older.snapshot?.decisions).toBeUndefined();
    expect(older.snapshot?.top_rules).toBeUndefined();
  });

  it('is in error when the first refresh fails', () => {
    const s = reduce(initialState({ source: 'x', days: 7 }), actions.refreshFailed('HTTP 401', T1));
    expect(s).toMatchObject({ status: 'error', lastError: 'HTTP 401', snapshot: null });
  });

  it('toggles pause', () => {
    const s = reduce(loaded(), actions.togglePause());
    expect(s.paused).toBe(true);
    expect(reduce(s, actions.togglePause()).paused).toBe(false);
  });
});

describe('dashboard reducer: selection', () => {
  it('clamps to the list', () => {
    const s = loaded();
    expect(reduce(s, actions.selectPrev())).toBe(s);
    const last = run(s, ...Array.from({ length: 20 }, () => actions.selectNext()));
    expect(last.selected).toBe(RECENT_FLAGGED.length - 1);
    expect(last.selectedId).toBe(11960);
    expect(selectedRow(run(s, actions.selectNext(), actions.selectNext(), actions.selectPrev()))?.id).toBe(12029);
  });

  it('follows the selected transaction across refreshes', () => {
    const s = run(loaded(), actions.selectNext(), actions.selectNext());
    expect(s.selectedId).toBe(12017);
    const newer = { ...RECENT_FLAGGED[0], id: 12040 };
    const next = fixtureSnapshot({ recent_flagged: [newer, ...RECENT_FLAGGED.slice(0, 7)] });
    const after = reduce(s, actions.snapshotLoaded(next, T2));
    expect(after).toMatchObject({ selected: 3, selectedId: 12017 });
  });

  it('keeps the index (clamped) when the selected transaction is gone', () => {
    const s = run(loaded(), actions.selectNext(), actions.selectNext());
    const without = fixtureSnapshot({ recent_flagged: RECENT_FLAGGED.filter((r) => r.id !== 12017) });
    expect(reduce(s, actions.snapshotLoaded(without, T2))).toMatchObject({ selected: 2, selectedId: 12008 });
    const atEnd = run(loaded(), ...Array.from({ length: 7 }, () => actions.selectNext()));
    const shorter = fixtureSnapshot({ recent_flagged: RECENT_FLAGGED.slice(0, 3) });
    expect(reduce(atEnd, actions.snapshotLoaded(shorter, T2))).toMatchObject({ selected: 2, selectedId: 12017 });
    const empty = reduce(atEnd, actions.snapshotLoaded(fixtureSnapshot({ recent_flagged: [] }), T2));
    expect(empty).toMatchObject({ selected: 0, selectedId: null });
    expect(reduce(empty, actions.openDetail())).toBe(empty);
    expect(reduce(empty, actions.selectNext())).toBe(empty);
  });
});

describe('dashboard reducer: detail and help', () => {
  it('opens, loads and closes the detail of the selected transaction', () => {
    const s = reduce(loaded(), actions.openDetail());
    expect(s).toMatchObject({ view: 'detail', detailId: 12034, detailStatus: 'loading', detail: null });
    expect(reduce(s, actions.detailLoaded(fixtureDetail({ id: 1 })))).toBe(s);
    const ready = reduce(s, actions.detailLoaded(fixtureDetail()));
    expect(ready).toMatchObject({ detailStatus: 'ready', detail: { id: 12034 } });
    expect(reduce(ready, actions.selectNext())).toBe(ready);
    const closed = reduce(ready, actions.closeDetail());
    expect(closed).toMatchObject({
      view: 'main',
      detailId: null,
      detail: null,
      detailStatus: 'idle',
      selectedId: 12034,
    });
  });

  it('keeps the open detail through a refresh that drops its row', () => {
    const s = run(loaded(), actions.openDetail(), actions.detailLoaded(fixtureDetail()));
    const after = reduce(s, actions.snapshotLoaded(fixtureSnapshot({ recent_flagged: RECENT_FLAGGED.slice(1) }), T2));
    expect(after).toMatchObject({ view: 'detail', detailId: 12034, detail: { id: 12034 }, selectedId: 12029 });
  });

  it('reports a detail that fails to load', () => {
    const s = run(loaded(), actions.openDetail(), actions.detailFailed(new Error('HTTP 404')));
    expect(s).toMatchObject({ detailStatus: 'error', message: { text: 'HTTP 404', tone: 'error' } });
  });

  it('returns from help to the view it was opened from', () => {
    const detail = run(loaded(), actions.openDetail(), actions.detailLoaded(fixtureDetail()));
    const help = reduce(detail, actions.toggleHelp());
    expect(help.view).toBe('help');
    expect(reduce(help, actions.closeDetail()).view).toBe('detail');
    expect(reduce(help, actions.toggleHelp()).view).toBe('detail');
    expect(run(loaded(), actions.toggleHelp(), actions.toggleHelp()).view).toBe('main');
  });
});

describe('dashboard reducer: feedback', () => {
  const open = () => run(loaded(), actions.openDetail(), actions.detailLoaded(fixtureDetail()));

  it('records a first verdict in the detail, the row and the tally', () => {
    const saving = reduce(open(), actions.feedbackStarted());
    expect(saving.savingFeedback).toBe(true);
    expect(reduce(saving, actions.feedbackStarted())).toBe(saving);
    const s = reduce(saving, actions.feedbackSaved(12034, true, T2));
    expect(s.savingFeedback).toBe(false);
    expect(s.detail?.feedback).toEqual({ is_correct: true, notes: null, updated_at: T2, recorded_by: null });
    expect(s.snapshot?.recent_flagged[0].feedback).toBe(true);
    expect(s.snapshot?.feedback).toEqual({ total_feedback: 87, positive_feedback: 80, accuracy: 91.95 });
    expect(s.message).toEqual({ text: 'marked #12034 correct', tone: 'info' });
  });

  it('changes an existing verdict without counting it twice', () => {
    const s = run(
      loaded(),
      actions.selectNext(),
      actions.selectNext(),
      actions.openDetail(),
      actions.detailLoaded(
        fixtureDetail({
          id: 12017,
          feedback: { is_correct: true, notes: 'checked', updated_at: T1, recorded_by: 'alice' },
        }),
      ),
    );
    const after = run(s, actions.feedbackStarted(), actions.feedbackSaved(12017, false, T2, 'bob'));
    expect(after.detail?.feedback).toEqual({ is_correct: false, notes: 'checked', updated_at: T2, recorded_by: 'bob' });
    expect(after.snapshot?.recent_flagged[2].feedback).toBe(false);
    expect(after.snapshot?.feedback).toMatchObject({ total_feedback: 86, positive_feedback: 78 });
    expect(after.message?.text).toBe('marked #12017 incorrect');
  });

  it('reports a failed save and keeps the old verdict', () => {
    const s = run(open(), actions.feedbackStarted(), actions.feedbackFailed(new Error('read-only database')));
    expect(s).toMatchObject({
      savingFeedback: false,
      message: { tone: 'error', text: 'feedback not saved: read-only database' },
    });
    expect(s.detail?.feedback).toBeNull();
    expect(reduce(s, actions.clearMessage()).message).toBeNull();
  });

  it('tracks the terminal size', () => {
    expect(reduce(loaded(), actions.resize(120, 40))).toMatchObject({ columns: 120, rows: 40 });
  });
});

describe('dashboard keys', () => {
  const k = (input: string, key: Parameters<typeof keyIntent>[1] = {}, view: 'main' | 'detail' | 'help' = 'main') =>
    keyIntent(input, key, view)?.type ?? null;

  it('maps keys in the main view', () => {
    expect(k('q')).toBe('quit');
    expect(k('c', { ctrl: true })).toBe('quit');
    expect(k('r')).toBe('refresh');
    expect(k('p')).toBe('togglePause');
    expect(k('', { upArrow: true })).toBe('selectPrev');
    expect(k('', { downArrow: true })).toBe('selectNext');
    expect(k('j')).toBe('selectNext');
    expect(k('k')).toBe('selectPrev');
    expect(k('\r', { return: true })).toBe('openDetail');
    expect(k('?')).toBe('toggleHelp');
    expect(k('', { escape: true })).toBeNull();
    expect(k('c')).toBeNull();
    expect(k('x')).toBeNull();
    expect(k('r', { ctrl: true })).toBeNull();
  });

  it('maps keys in the detail and help views', () => {
    expect(keyIntent('c', {}, 'detail')).toEqual({ type: 'feedback', isCorrect: true });
    expect(keyIntent('i', {}, 'detail')).toEqual({ type: 'feedback', isCorrect: false });
    expect(k('', { escape: true }, 'detail')).toBe('closeDetail');
    // What Ink really reports for the Escape key: escape with meta set.
    expect(k('', { escape: true, meta: true }, 'detail')).toBe('closeDetail');
    expect(k('', { escape: true, meta: true }, 'help')).toBe('closeDetail');
    expect(k('', { backspace: true }, 'detail')).toBe('closeDetail');
    expect(k('', { delete: true }, 'help')).toBe('closeDetail');
    expect(k('', { downArrow: true }, 'detail')).toBeNull();
    expect(k('\r', { return: true }, 'detail')).toBeNull();
    expect(k('c', {}, 'help')).toBeNull();
    expect(k('?', {}, 'help')).toBe('toggleHelp');
    expect(k('q', {}, 'detail')).toBe('quit');
  });
});
