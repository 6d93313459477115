import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fit,
  fmtAge,
  fmtAmount,
  fmtClock,
  fmtCompact,
  fmtInt,
  fmtPct,
  fmtScore,
  fmtSigned,
  fmtSpan,
  fmtStamp,
  hbar,
  hourAxis,
  joinFit,
  levelChar,
  resample,
  signedBar,
  sparkline,
  truncate,
  vbar,
  width,
} from '../../src/cli/dashboard/format.js';
import { flaggedTable, hourlyChart, riskRows, throughputPanel, windowStart } from '../../src/cli/dashboard/panels.js';
import { renderPlain } from '../../src/cli/dashboard/plain.js';
import { fixtureDecisions, fixtureDrift, fixtureSnapshot, RECENT_FLAGGED } from './dashboard-fixtures.js';

const savedTz = process.env.TZ;
beforeAll(() => {
  process.env.TZ = 'UTC';
});
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

describe('dashboard format', () => {
  it('truncates and fits to a width', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    expect(truncate('abc', 0)).toBe('');
    expect(fit('ab', 4)).toBe('ab  ');
    expect(fit('ab', 4, 'right')).toBe('  ab');
    expect(fit('▁▂▃▄▅', 3)).toBe('▁▂…');
    expect(width('█▌✓')).toBe(3);
    expect(joinFit('left', 'right', 12)).toBe('left   right');
    expect(joinFit('a long title', 'right', 10)).toBe('a l… right');
    expect(width(joinFit('a long title', 'right', 10))).toBe(10);
  });

  it('formats numbers', () => {
    expect(fmtInt(12027)).toBe('12,027');
    expect(fmtAmount(4800)).toBe('4,800.00');
    expect(fmtScore(0.71344)).toBe('0.713');
    expect(fmtPct(9.19, 2)).toBe('9.19%');
    expect(fmtPct(91.86)).toBe('91.9%');
    expect(fmtSigned(0.14231)).toBe('+0.1423');
    expect(fmtSigned(-0.0042)).toBe('-0.0042');
    expect(fmtCompact(9999)).toBe('9,999');
    expect(fmtCompact(12_340)).toBe('12.3k');
    expect(fmtCompact(456_000)).toBe('456k');
    expect(fmtCompact(4_560_000)).toBe('4.56M');
  });

  it('formats times and durations', () => {
    expect(fmtAge(5_000)).toBe('5s');
    expect(fmtAge(125_000)).toBe('2m05s');
    expect(fmtAge(3_780_000)).toBe('1h03m');
    expect(fmtAge(187_200_000)).toBe('2d04h');
    expect(fmtSpan(12_600_000)).toBe('3h30m');
    expect(fmtSpan(25_200_000)).toBe('7h');
    expect(fmtSpan(1_800_000)).toBe('30m');
    expect(fmtClock('2025-03-14T09:05:03Z')).toBe('09:05:03');
    expect(fmtClock(null)).toBe('--:--:--');
    expect(fmtStamp('2025-03-14T09:05:03Z')).toBe('03-14 09:05');
    expect(fmtStamp('2025-03-14T09:05:03Z', true)).toBe('03-14 09:05:03');
  });

  it('resamples bucket totals', () => {
    expect(resample([1, 2, 3, 4], 4)).toEqual([1, 2, 3, 4]);
    expect(resample([1, 2, 3, 4], 2)).toEqual([3, 7]);
    // A short last run is scaled to a full one.
    expect(resample([1, 1, 1, 1, 1], 3)).toEqual([2, 2, 2]);
    expect(
      resample(
        Array.from({ length: 48 }, () => 1),
        30,
      ),
    ).toHaveLength(24);
  });

  it('draws sparklines and bars', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([0, 0, 0])).toBe('▁▁▁');
    expect(sparkline([1, 1, 2, 2], 2)).toBe('▄█');
    expect(sparkline([1, 100])).toBe('▁█');
    expect(hbar(1, 4)).toBe('████');
    expect(hbar(0.5, 3)).toBe('█▌');
    expect(hbar(0, 3)).toBe('');
    expect(hbar(0.001, 3)).toBe('▏');
    expect(signedBar(1, 1, 3)).toEqual(['   ', '███']);
    expect(signedBar(-0.5, 1, 4, '▒')).toEqual(['  ▒▒', '    ']);
    expect(signedBar(0.001, 1, 4)).toEqual(['    ', '█   ']);
    expect(signedBar(0, 1, 2)).toEqual(['  ', '  ']);
    expect(vbar(10, 10, 2)).toEqual(['█', '█']);
    expect(vbar(5, 10, 2)).toEqual([' ', '█']);
    expect(vbar(3, 8, 1)).toEqual(['▃']);
    expect(vbar(0.01, 10, 2)).toEqual([' ', '▁']);
    expect(vbar(0, 10, 2)).toEqual([' ', ' ']);
    expect(levelChar(1, false)).toBe('█');
    expect(levelChar(1, true)).toBe('▓');
    expect(levelChar(0.1, true)).toBe('░');
    expect(levelChar(0, true)).toBe(' ');
    expect(hourAxis(2)).toBe('0           6           12          18         h');
  });
});

describe('dashboard panels', () => {
  const s = fixtureSnapshot();

  it('draws the hourly chart with the flagged share beneath', () => {
    const c = hourlyChart(s.hourly_distribution, 2, 3, true);
    expect(c.bars).toHaveLength(3);
    for (const line of [...c.bars, c.share, c.axis]) expect(width(line)).toBe(48);
    // The night hours have the highest flagged share: hour 2 is darkest, midday light.
    expect(c.share[4]).toBe('▓');
    expect(c.share[24]).toBe('░');
    expect(c.legend).toBe('▒ flagged ≤62.2%');
  });

  it('sizes risk rows and throughput to the panel', () => {
    for (const r of riskRows(s.risk_levels, 30, false)) expect(width(r.text + r.bar)).toBeLessThanOrEqual(30);
    expect(riskRows(s.risk_levels, 46, true)[2].text).toBe('highest  1,105   9.2% ');
    const t = throughputPanel(s.throughput, 30);
    expect(t.title).toBe('Throughput /7h');
    expect(width(t.spark)).toBe(24);
    expect(t.range).toMatch(/^min \d+ max \d+$/);
  });

  it('lays the flagged table out to exactly the width', () => {
    for (const [cols, wide] of [
      [80, false],
      [120, true],
    ] as const) {
      const t = flaggedTable(s.recent_flagged, cols, wide);
      expect(width(t.head)).toBe(cols);
      for (const r of t.rows) expect(width(r.pre + r.mark + r.factor)).toBe(cols);
    }
    const wide = flaggedTable(s.recent_flagged, 120, true);
    expect(wide.rows[0].factor.trim()).toBe('amount 4,800.00 is higher than 99.6% of training data');
    expect(wide.rows[2].mark).toBe('✓ ');
    expect(windowStart(0, 5, 8)).toBe(0);
    expect(windowStart(6, 5, 8)).toBe(2);
    expect(windowStart(7, 10, 8)).toBe(0);
  });
});

describe('dashboard plain snapshot', () => {
  it('renders 80 columns of plain text', () => {
    const text = renderPlain(fixtureSnapshot());
    expect(text).not.toMatch(/\u001b/);
    for (const line of text.split('\n')) expect(width(line)).toBeLessThanOrEqual(80);
    expect(text).toContain('12,027');
    expect(text).toContain('1,105');
    expect(text).toContain(`${RECENT_FLAGGED[0].id} 03-14 11:36 4,800.00 0.713`);
    expect(text).toContain('amount 4,800.00 is higher than');
    expect(text).toMatchSnapshot();
  });

  it('adds a drift section when the snapshot has drift figures, within 80 columns', () => {
    const text = renderPlain(fixtureSnapshot({ drift: fixtureDrift() }));
    for (const line of text.split('\n')) expect(width(line)).toBeLessThanOrEqual(80);
    expect(text).toContain('Drift PSI against training, last 7 days            < 0.1 stable, >= 0.25 drifted');
    expect(text).toContain('amount            4.0424  drifted  > 89.2: 10.0% -> 79.7%');
    expect(text).toContain('hour              0.1312  watch    <= 9: 17.5% -> 31.0%');
    expect(text).toContain('anomaly_score       12.3  drifted  > 0.5537: 10.0% -> 100.0%');
    expect(renderPlain(fixtureSnapshot())).not.toContain('Drift');
  });

  it('adds decisions and the rules firing most when the snapshot has them, within 80 columns', () => {
    const text = renderPlain(fixtureSnapshot(fixtureDecisions()));
    for (const line of text.split('\n')) expect(width(line)).toBeLessThanOrEqual(80);
    expect(text).toContain('\nDecisions 10,884 allow · 1,105 review · 38 block\n');
    expect(text).toContain('\nRules firing most big-night-transfer (block) 38, new-merchant (review) 21, vip.…\n');
    expect(renderPlain(fixtureSnapshot())).not.toContain('Decisions');
  });

  it('says so when nothing is flagged', () => {
    expect(renderPlain(fixtureSnapshot({ recent_flagged: [] }))).toContain(
      'No flagged transactions in the last 7 days.',
    );
  });
});
