/** Terminal facts: colour, TTY-only progress. Honours NO_COLOR (https://no-color.org) and TERM=dumb. */
export function colorEnabled(stream: { isTTY?: boolean }): boolean {
  const noColor = process.env.NO_COLOR;
  return Boolean(stream.isTTY) && (noColor === undefined || noColor === '') && process.env.TERM !== 'dumb';
}

export interface Painter {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

export function painter(enabled: boolean): Painter {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), bold: wrap(1, 22), dim: wrap(2, 22) };
}

import { formatGrouped } from '../model/number-format.js';

export const formatInt = (n: number): string => formatGrouped(n);

/** A progress line on stderr, redrawn at most every 100 ms; a no-op when stderr is not a terminal. */
export function progressBar(stream: NodeJS.WritableStream, enabled: boolean) {
  let last = 0;
  let shown = false;
  return {
    update(bytes: number, total: number, rows: number): void {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      shown = true;
      const width = 30;
      let text: string;
      if (total > 0) {
        const frac = Math.min(1, bytes / total);
        const filled = Math.round(frac * width);
        text = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${formatInt(rows)} rows`;
      } else text = `${formatInt(rows)} rows`;
      stream.write(`\r${text}\u001b[K`);
    },
    done(): void {
      if (shown) stream.write('\r\u001b[K');
    },
  };
}
