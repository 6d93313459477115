import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

// Before Ink (and its chalk) load: force colour output so the color prop is what decides, and fix the
// time zone for the clock columns.
const saved = vi.hoisted(() => {
  const env = { FORCE_COLOR: process.env.FORCE_COLOR, TZ: process.env.TZ };
  process.env.FORCE_COLOR = '1';
  process.env.TZ = 'UTC';
  return env;
});

afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

import { cleanup, render } from 'ink-testing-library';
import { actions, initialState, reduce, type DashboardState } from '../../src/cli/dashboard/state.js';
import { DashboardView } from '../../src/cli/dashboard/view.js';
import type { FlaggedSummary } from '../../src/cli/dashboard/snapshot.js';
import {
  fixtureDecisions,
  fixtureDetail,
  fixtureDrift,
  fixtureSnapshot,
  GENERATED_AT,
  RECENT_FLAGGED,
} from './dashboard-fixtures.js';

afterEach(() => cleanup());

const SGR = /\u001b\[([0-9;]*)m/g;
const strip = (s: string) => s.replace(SGR, '');
/** SGR parameters that set a colour (foreground, background, 256/true colour). */
const colourCodes = (s: string) =>
  [...s.matchAll(SGR)]
    .flatMap((m) => m[1].split(';').map(Number))
    .filter((n) => (n >= 30 && n <= 49) || (n >= 90 && n <= 107));

function frame(state: DashboardState, columns: number, rows: number, color = false, now?: string) {
  const out =
    render(<DashboardView state={state} columns={columns} rows={rows} color={color} now={now} />).lastFrame() ?? '';
  // Ink keeps trailing spaces inside styled text only; compare lines without them.
  const lines = strip(out)
    .split('\n')
    .map((l) => l.trimEnd());
  return { raw: out, text: lines.join('\n'), lines };
}

function expectFits(lines: string[], columns: number, rows: number) {
  for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(columns);
  expect(lines.length).toBeLessThanOrEqual(rows);
}

const live = (snapshot = fixtureSnapshot()) =>
  reduce(initialState({ source: 'test', days: 7 }), actions.snapshotLoaded(snapshot, GENERATED_AT));

function manyFlagged(n: number): FlaggedSummary[] {
  return Array.from({ length: n }, (_, i) => ({ ...RECENT_FLAGGED[i % RECENT_FLAGGED.length], id: 13000 - i }));
}

describe('dashboard view: main', () => {
  it("shows the model threshold's expected alert rate in the header when the source gives it", () => {
    const alert_rate = {
      threshold: 0.6766,
      expected: 0.02,
      low: 0.0132,
      high: 0.0301,
      basis: 'calibration' as const,
      rows: 1100,
    };
    const { text, lines } = frame(live(fixtureSnapshot({ alert_rate })), 100, 24);
    expectFits(lines, 100, 24);
    expect(lines[0]).toContain('model 2025.03.1 · alerts 2.00% expected');
    expect(text).toContain('9.19%'); // the observed rate, in its tile
  });

  it('fits 80x24 and shows the key numbers', () => {
    const { text, lines } = frame(live(), 80, 24);
    expectFits(lines, 80, 24);
    for (const s of [
      '12,027',
      '1,105',
      '9.19%',
      '0.431',
      '91.9%',
      'last 7 days',
      'model 2025.03.1',
      '● live',
      'refreshed 12:00:00',
    ])
      expect(text).toContain(s);
    expect(text).toContain('12034 03-14 11:36 4,800.00 0.713');
    expect(text).toContain('amount 4,800.00 is higher than');
    expect(text).toContain('Hourly volume (max 824)');
    expect(text).toContain('normal   9,770');
    expect(text).toContain('Throughput /7h');
    expect(text).toContain('↑↓ select · enter detail');
    expect(text).toMatchSnapshot();
  });

  it('puts panels side by side with more columns at 120', () => {
    const { text, lines } = frame(live(), 120, 30);
    expectFits(lines, 120, 30);
    expect(text).toContain('amount 4,800.00 is higher than 99.6% of training data');
    expect(text).toContain('highest  1,105   9.2%');
    expect(lines.find((l) => l.startsWith('12034'))).toContain('99.6  highest');
    expect(lines.some((l) => /^Transactions +12,027 +Hourly volume .* Risk levels$/.test(l))).toBe(true);
    expect(text).toMatchSnapshot();
  });

  it('shows more flagged rows on taller and wider terminals', () => {
    const s = live(fixtureSnapshot({ recent_flagged: manyFlagged(40) }));
    const rowsShown = (c: number, r: number) => {
      const { lines } = frame(s, c, r);
      expectFits(lines, c, r);
      return lines.filter((l) => /^\s*1[23]\d{3}\s/.test(l)).length;
    };
    const small = rowsShown(80, 24);
    expect(small).toBeGreaterThanOrEqual(8);
    expect(rowsShown(80, 40)).toBeGreaterThan(small);
    expect(rowsShown(120, 24)).toBeGreaterThan(small);
    expect(frame(s, 80, 24).text).toContain(`1-${small} of 40`);
  });

  it('shows drift on one line when the snapshot has it, coloured by band, at the cost of one flagged row', () => {
    const plain = live(fixtureSnapshot({ recent_flagged: manyFlagged(40) }));
    const drift = live(fixtureSnapshot({ recent_flagged: manyFlagged(40), drift: fixtureDrift() }));
    for (const [c, r] of [
      [80, 24],
      [120, 30],
      [60, 20],
    ]) {
      const { lines } = frame(drift, c, r);
      expectFits(lines, c, r);
    }
    const { lines, raw } = frame(drift, 80, 24, true);
    expect(lines).toContain('Drift 7d amount 4.04 hour 0.13 day 0.00 cat 0.00 type 0.00 score 12.3 drifted');
    const line = raw.split('\n').find((l) => strip(l).startsWith('Drift 7d'))!;
    expect(colourCodes(line)).toEqual(expect.arrayContaining([31, 33, 32])); // red, yellow, green
    const flaggedRows = (state: DashboardState) =>
      frame(state, 80, 24).lines.filter((l) => /^\s*1[23]\d{3}\s/.test(l)).length;
    expect(flaggedRows(drift)).toBe(flaggedRows(plain) - 1);
    expect(frame(plain, 80, 24).text).not.toContain('Drift');
    // Where the panels leave a single table row (60x20), the line gives way to it.
    expect(frame(drift, 60, 20).text).not.toContain('Drift');
    // No scores from this model in the window: the score says n/a.
    const noScore = live(fixtureSnapshot({ drift: { ...fixtureDrift(), score: null } }));
    expect(frame(noScore, 80, 24).text).toContain('score n/a drifted');
  });

  it('shows decisions and the rules firing most: one line on short terminals, two on tall ones', () => {
    const plain = live(fixtureSnapshot({ recent_flagged: manyFlagged(40) }));
    const decided = live(fixtureSnapshot({ recent_flagged: manyFlagged(40), ...fixtureDecisions() }));
    const both = live(
      fixtureSnapshot({ recent_flagged: manyFlagged(40), drift: fixtureDrift(), ...fixtureDecisions() }),
    );
    for (const [c, r] of [
      [80, 24],
      [120, 30],
      [120, 40],
      [60, 20],
      [200, 50],
    ]) {
      expectFits(frame(decided, c, r).lines, c, r);
      expectFits(frame(both, c, r).lines, c, r);
    }
    const short = frame(decided, 120, 24, true);
    expect(short.lines.find((l) => l.startsWith('Decisions'))).toBe(
      'Decisions 10,884 allow · 1,105 review · 38 block  rules: big-night-transfer (block) 38, new-merchant (review) 21, vip.a…',
    );
    const line = short.raw.split('\n').find((l) => strip(l).startsWith('Decisions'))!;
    expect(colourCodes(line)).toEqual(expect.arrayContaining([32, 33, 31])); // allow green, review yellow, block red
    // At 80 columns the rules are cut short, never wrapped.
    expect(frame(decided, 80, 24).lines.find((l) => l.startsWith('Decisions'))).toMatch(
      / rules: big-night-transfer \(bl…$/,
    );
    const tall = frame(decided, 120, 40).lines;
    expect(tall).toContain('Decisions 10,884 allow · 1,105 review · 38 block');
    expect(tall).toContain(
      'Rules firing most big-night-transfer (block) 38, new-merchant (review) 21, vip.allow-list (allow) 9',
    );
    const flaggedRows = (state: DashboardState, c: number, r: number) =>
      frame(state, c, r).lines.filter((l) => /^\s*1[23]\d{3}\s/.test(l)).length;
    expect(flaggedRows(decided, 80, 24)).toBe(flaggedRows(plain, 80, 24) - 1);
    expect(flaggedRows(decided, 120, 40)).toBe(flaggedRows(plain, 120, 40) - 2);
    expect(frame(both, 80, 24).text).toContain('Drift 7d');
    expect(frame(both, 80, 24).text).toContain('Decisions 10,884 allow');
    // No room left beside a single table row (60x20): the line gives way; a snapshot without them shows none.
    expect(frame(decided, 60, 20).text).not.toContain('Decisions');
    expect(frame(plain, 120, 40).text).not.toContain('Decisions');
    const none = live(fixtureSnapshot({ ...fixtureDecisions(), top_rules: [] }));
    expect(frame(none, 120, 40).lines).toContain('Rules firing most no rule matched in the window');
  });

  it('scrolls to keep the selection visible and highlights it', () => {
    const s = reduce(live(fixtureSnapshot({ recent_flagged: manyFlagged(40) })), actions.selectPrev());
    const moved = Array.from({ length: 20 }, () => actions.selectNext()).reduce(reduce, s);
    const { raw, lines } = frame(moved, 80, 24);
    expect(lines.some((l) => l.startsWith('12980'))).toBe(true);
    expect(raw.split('\n').find((l) => strip(l).startsWith('12980'))).toContain('\u001b[7m');
  });

  it('stays inside narrow and short terminals', () => {
    for (const [c, r] of [
      [60, 20],
      [100, 24],
      [200, 50],
    ])
      expectFits(frame(live(), c, r).lines, c, r);
  });

  it('uses no colour when color is false, and colour when true', () => {
    const plain = frame(live(), 80, 24, false);
    expect(colourCodes(plain.raw)).toEqual([]);
    // Selection stays visible without colour: inverse is an attribute, not a colour.
    expect(plain.raw).toContain('\u001b[7m');
    const coloured = frame(live(), 80, 24, true);
    expect(colourCodes(coloured.raw).length).toBeGreaterThan(0);
    // Same layout either way; only the flagged-share row switches from shades to blocks.
    const widths = (ls: string[]) => ls.map((l) => l.trimEnd().length);
    expect(widths(coloured.lines)).toEqual(widths(plain.lines));
  });
});

describe('dashboard view: header states', () => {
  it('shows a stale snapshot with its age and the error', () => {
    const s = reduce(
      live(),
      actions.refreshFailed(new Error('connect ECONNREFUSED 127.0.0.1:8000'), '2025-03-14T12:02:05.000Z'),
    );
    const { text, lines } = frame(s, 80, 24);
    expectFits(lines, 80, 24);
    expect(lines[1]).toBe('● stale 2m05s · refreshed 12:00:00 · connect ECONNREFUSED 127.0.0.1:8000');
    expect(text).toContain('12,027');
    expect(frame(s, 80, 24, false, '2025-03-14T12:10:00.000Z').lines[1]).toContain('stale 10m00s');
  });

  it('shows paused, loading and a first-load error', () => {
    const paused = frame(reduce(live(), actions.togglePause()), 80, 24);
    expect(paused.lines[1]).toBe('● live · ‖ paused · refreshed 12:00:00');
    expect(paused.lines.at(-1)).toContain('p resume');
    expect(frame(reduce(live(), actions.refreshStarted()), 80, 24).lines[1]).toBe('↻ live · refreshed 12:00:00');
    const loading = frame(initialState({ source: 'https://x.fly.dev', days: 30 }), 80, 24);
    expect(loading.lines[0]).toBe('secureflow dashboard · last 30 days · https://x.fly.dev');
    expect(loading.text).toContain('Loading…');
    const failed = reduce(
      initialState({ source: 'x', days: 7 }),
      actions.refreshFailed(new Error('HTTP 401 unauthorized'), GENERATED_AT),
    );
    expect(frame(failed, 80, 24).text).toContain('Could not load the dashboard: HTTP 401 unauthorized');
  });
});

describe('dashboard view: detail and help', () => {
  const opened = () => [actions.openDetail(), actions.detailLoaded(fixtureDetail())].reduce(reduce, live());

  it('shows features, scores, every Shapley value and the risk factors at 80x24', () => {
    const { text, lines } = frame(opened(), 80, 24);
    expectFits(lines, 80, 24);
    expect(text).toContain('Transaction #12034');
    expect(text).toContain('ANOMALY · highest · score 0.713 · risk 99.6/100 · confidence 83%');
    expect(text).toContain('day_of_week           Thursday (3)');
    for (const [name, v] of Object.entries(fixtureDetail().shap_explanation)) {
      const line = lines.find((l) => l.includes(` ${name} `) && l.includes('│'));
      expect(line, name).toContain(v > 0 ? `+${v.toFixed(4)}` : `-${Math.abs(v).toFixed(4)}`);
      // Positive values grow right of the axis, negative ones left.
      const [left, right] = line!.split('│');
      expect(v > 0 ? right.includes('█') : left.includes('▒')).toBe(true);
    }
    expect(text).toContain('• amount 4,800.00 is higher than 99.6% of training data (+0.1423)');
    expect(text).toContain('Feedback: none yet');
    expect(lines.at(-1)).toContain('c correct · i incorrect · esc back');
    expect(text).toMatchSnapshot();
  });

  it('shows recorded feedback, the transient message, and fits 120 columns', () => {
    const s = [actions.feedbackStarted(), actions.feedbackSaved(12034, true, '2025-03-14T12:01:00.000Z')].reduce(
      reduce,
      opened(),
    );
    const { text, lines } = frame(s, 120, 30, true);
    expectFits(lines, 120, 30);
    expect(text).toContain('Feedback: ✓ correct (recorded 03-14 12:01)');
    expect(lines.at(-1)).toMatch(/^marked #12034 correct │ c correct · i incorrect · esc back/);
  });

  it('names who gave the verdict in the detail view', () => {
    const s = [
      actions.feedbackStarted(),
      actions.feedbackSaved(12034, false, '2025-03-14T12:01:00.000Z', 'alice'),
    ].reduce(reduce, opened());
    const { text, lines } = frame(s, 120, 30, true);
    expectFits(lines, 120, 30);
    expect(text).toContain('Feedback: ✗ incorrect (recorded by alice 03-14 12:01)');
  });

  it('shows loading while the detail is on its way', () => {
    expect(frame(reduce(live(), actions.openDetail()), 80, 24).text).toContain('Loading transaction #12034…');
  });

  it('lists the keys in help', () => {
    const { text, lines } = frame(reduce(live(), actions.toggleHelp()), 80, 24);
    expectFits(lines, 80, 24);
    for (const s of ['enter', 'refresh now', 'pause / resume', 'quit', 'esc back']) expect(text).toContain(s);
  });
});
