/**
 * Pure text helpers for the dashboard (Ink view and plain snapshot). Widths count code points: every
 * glyph used here (block elements, box drawing, ✓ ✗ … ·) is one terminal column wide.
 */
import { formatFixed, formatGrouped } from '../../model/number-format.js';

/** Lower eighth blocks, 1/8 to 8/8: vertical bars and sparklines. */
export const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;
/** Left eighth blocks, 1/8 to 7/8: the partial end of a horizontal bar. */
const LEFT_EIGHTHS = ['▏', '▎', '▍', '▌', '▋', '▊', '▉'] as const;
/** Shades for marking without colour, lightest first. */
export const SHADES = [' ', '░', '▒', '▓'] as const;

export const width = (s: string): number => [...s].length;

/** `s` cut to `w` columns, ending in … when cut. */
export function truncate(s: string, w: number): string {
  if (w <= 0) return '';
  const cps = [...s];
  return cps.length <= w ? s : `${cps.slice(0, w - 1).join('')}…`;
}

/** `s` truncated and padded to exactly `w` columns. */
export function fit(s: string, w: number, align: 'left' | 'right' = 'left'): string {
  const t = truncate(s, w);
  const pad = ' '.repeat(Math.max(0, w - width(t)));
  return align === 'left' ? t + pad : pad + t;
}

export const fmtInt = (n: number): string => formatGrouped(Math.round(n));
export const fmtAmount = (n: number): string => formatGrouped(n, 2);
export const fmtScore = (n: number): string => formatFixed(n, 3);
/** A percentage already scaled 0..100 (the API's anomaly_rate and accuracy). */
export const fmtPct = (p: number, digits = 1): string => `${formatFixed(p, digits)}%`;
export const fmtSigned = (n: number, digits = 4): string =>
  `${n > 0 ? '+' : n < 0 ? '-' : ' '}${formatFixed(Math.abs(n), digits)}`;

/** 999, 12.3k, 4.56M: axis labels where space is short. */
export function fmtCompact(n: number): string {
  const a = Math.abs(n);
  if (a < 10_000) return fmtInt(n);
  if (a < 1_000_000) return `${formatFixed(n / 1000, a < 100_000 ? 1 : 0)}k`;
  return `${formatFixed(n / 1_000_000, 2)}M`;
}

const two = (n: number) => String(n).padStart(2, '0');

/** A duration as "45s", "2m05s", "1h03m", "2d04h". */
export function fmtAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

/** Local wall-clock "HH:MM:SS" of an ISO time ("--:--:--" if unparseable). */
export function fmtClock(iso: string | null): string {
  const d = iso ? new Date(iso) : null;
  return d && !Number.isNaN(d.getTime())
    ? `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
    : '--:--:--';
}

/** Local "MM-DD HH:MM" of an ISO time: compact enough for a table row. */
export function fmtStamp(iso: string, seconds = false): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return truncate(iso, seconds ? 14 : 11);
  const base = `${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
  return seconds ? `${base}:${two(d.getSeconds())}` : base;
}

/** Local "YYYY-MM-DD HH:MM:SS". */
export function fmtDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.getFullYear()}-${fmtStamp(iso, true)}`;
}

/**
 * At most `w` values by summing runs of k = ceil(n / w) neighbours (bucket totals stay totals). A short
 * last run is scaled up to k buckets so it does not show as a false dip.
 */
export function resample(values: readonly number[], w: number): number[] {
  if (w <= 0) return [];
  const k = Math.ceil(values.length / w);
  if (k <= 1) return [...values];
  const out: number[] = [];
  for (let i = 0; i < values.length; i += k) {
    const run = values.slice(i, i + k);
    out.push(Math.round((run.reduce((a, b) => a + b, 0) * k) / run.length));
  }
  return out;
}

/** The block whose height is the nearest eighth at or above `f` (0..1); zero and below is the lowest. */
function blockIndex(f: number): number {
  return f <= 0 ? 0 : Math.min(7, Math.ceil(f * 8 - 1e-9) - 1);
}

/** One block per value, scaled 0..max (zero is the lowest block, so the line keeps its length). */
export function sparkline(values: readonly number[], w = values.length): string {
  const v = resample(values, w);
  const max = Math.max(0, ...v);
  return v.map((x) => BLOCKS[blockIndex(max > 0 ? x / max : 0)]).join('');
}

/** A horizontal bar of `fraction` (0..1) of `w` columns, with eighth-block precision; not padded. */
export function hbar(fraction: number, w: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  // A nonzero share never rounds away to nothing.
  const eighths = Math.max(f > 0 && w > 0 ? 1 : 0, Math.round(f * w * 8));
  const full = Math.floor(eighths / 8);
  const rest = eighths % 8;
  return '█'.repeat(full) + (rest > 0 ? LEFT_EIGHTHS[rest - 1] : '');
}

/**
 * A signed bar around an axis: [left, right], each exactly `half` columns. Negative values grow left of
 * the axis, positive right; whole cells, at least one for any nonzero value so a sign is never lost.
 */
export function signedBar(value: number, maxAbs: number, half: number, ch = '█'): [string, string] {
  const n = value === 0 || maxAbs <= 0 ? 0 : Math.min(half, Math.max(1, Math.round((Math.abs(value) / maxAbs) * half)));
  const cells = ch.repeat(n);
  return value < 0 ? [cells.padStart(half), ' '.repeat(half)] : [' '.repeat(half), cells.padEnd(half)];
}

/**
 * A vertical bar `height` cells tall for value/max, as the characters of each row from the top. A
 * nonzero value shows at least the lowest block.
 */
export function vbar(value: number, max: number, height: number): string[] {
  let eighths = max <= 0 ? 0 : Math.round((Math.max(0, value) / max) * height * 8);
  if (value > 0 && eighths === 0) eighths = 1;
  return Array.from({ length: height }, (_, r) => {
    const level = Math.min(8, Math.max(0, eighths - (height - 1 - r) * 8));
    return level === 0 ? ' ' : BLOCKS[level - 1];
  });
}

/** One character for a 0..1 level: a block when colour carries the meaning, a shade otherwise. */
export function levelChar(fraction: number, shaded: boolean): string {
  const f = Math.min(1, Math.max(0, fraction));
  // Shades stop at ▓ so the level never reads as a full bar.
  if (shaded) return f <= 0 ? ' ' : SHADES[Math.max(1, Math.round(f * 3))];
  return f <= 0 ? ' ' : BLOCKS[blockIndex(f)];
}

/** An hour axis for 24 columns of `cw` characters: labels at 0, 6, 12 and 18. */
export function hourAxis(cw: number): string {
  const cells = Array.from({ length: 24 * cw }, () => ' ');
  for (const h of [0, 6, 12, 18])
    [...String(h)].forEach((c, i) => {
      cells[h * cw + i] = c;
    });
  cells[24 * cw - 1] = 'h';
  return cells.join('');
}

/** "every 3h30m" for a bucket span in ms. */
export function fmtSpan(ms: number): string {
  const m = Math.round(ms / 60_000);
  if (m < 60) return `${m}m`;
  if (m < 1440) return m % 60 === 0 ? `${m / 60}h` : `${Math.floor(m / 60)}h${two(m % 60)}m`;
  return m % 1440 === 0 ? `${m / 1440}d` : `${Math.floor(m / 1440)}d${two(Math.floor(m / 60) % 24)}h`;
}

/** `left` and `right` on one line of exactly `w` columns; the left side is cut first. */
export function joinFit(left: string, right: string, w: number): string {
  const rw = width(right);
  if (rw + 1 > w) return fit(left, w);
  return fit(left, w - rw - 1) + ' ' + right;
}

/** The model threshold's expected alert rate, in full (plain output) or short (the live header). */
export function fmtAlertRate(
  r: { threshold: number; expected: number; low: number; high: number; basis: string; rows: number },
  short = false,
): string {
  const pct = (x: number) => fmtPct(x * 100, 2);
  if (short) return `alerts ${pct(r.expected)} expected`;
  return (
    `threshold ${r.threshold.toFixed(4)} expects ${pct(r.expected)} alerts [${pct(r.low)}, ${pct(r.high)}] ` +
    `(${fmtInt(r.rows)} ${r.basis} rows)`
  );
}
