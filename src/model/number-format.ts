/**
 * Grouped decimal formatting ("4,800.00"), without Intl: loading ICU on first use costs tens of
 * milliseconds of start-up, and these strings must not depend on the machine's locale.
 */
export function formatGrouped(value: number, fractionDigits = 0): string {
  const fixed = Math.abs(value).toFixed(fractionDigits);
  const dot = fixed.indexOf('.');
  const whole = dot === -1 ? fixed : fixed.slice(0, dot);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${value < 0 ? '-' : ''}${grouped}${dot === -1 ? '' : fixed.slice(dot)}`;
}

const POWERS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000];

/**
 * `value.toFixed(digits)` for the scores written on every output row, through integer arithmetic:
 * several times faster than Number#toFixed. Rounds half away from zero after scaling; falls back to
 * toFixed outside the 31-bit range. Deterministic either way.
 */
export function formatFixed(value: number, digits: number): string {
  const n = scaledFixed(value, digits);
  if (n < 0) return value.toFixed(digits);
  const scale = POWERS[digits];
  const whole = Math.floor(n / scale);
  let frac = String(n - whole * scale);
  while (frac.length < digits) frac = `0${frac}`;
  return `${value < 0 && n !== 0 ? '-' : ''}${whole}.${frac}`;
}

/** |value| scaled to `digits` decimals and rounded half away from zero, or -1 where both fall back to toFixed. */
function scaledFixed(value: number, digits: number): number {
  const n = Math.round(Math.abs(value) * POWERS[digits]);
  return n < 2147483648 && digits !== 0 ? n : -1;
}

/**
 * formatFixed's text written as ASCII bytes into `target` at `at` (room for it checked by the caller); returns
 * the position after it. The CLI's CSV rows are written this way, without a string per cell.
 */
export function writeFixed(target: Uint8Array, at: number, value: number, digits: number): number {
  const n = scaledFixed(value, digits);
  if (n < 0) return writeAscii(target, at, value.toFixed(digits));
  const scale = POWERS[digits];
  if (value < 0 && n !== 0) target[at++] = 45; // -
  const whole = Math.floor(n / scale);
  at = writeInteger(target, at, whole);
  target[at++] = 46; // .
  let frac = n - whole * scale;
  for (let i = at + digits - 1; i >= at; i--) {
    target[i] = 48 + (frac % 10);
    frac = Math.floor(frac / 10);
  }
  return at + digits;
}

/** `String(n)` of a non-negative safe integer, as ASCII bytes at `at`; returns the position after it. */
export function writeInteger(target: Uint8Array, at: number, n: number): number {
  if (!(n >= 0 && Number.isSafeInteger(n))) return writeAscii(target, at, String(n));
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  for (let i = at + digits - 1; i >= at; i--) {
    target[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return at + digits;
}

/** An ASCII string's bytes at `at`; returns the position after it. */
export function writeAscii(target: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) target[at++] = text.charCodeAt(i);
  return at;
}
