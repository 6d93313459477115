/** Aligned plain-text columns for terminal output. Numbers right-aligned, text left-aligned. */
export function renderTable(columns: string[], rows: (string | number | boolean | null)[][]): string {
  const text = rows.map((r) => r.map((v) => (v === null ? '' : String(v))));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => r[i].length)));
  const numeric = columns.map(
    (_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[line(columns), ...text.map(line)].join('\n')}\n`;
}

/** RFC 4180 CSV of the same data, for scripts. */
export function renderCsv(columns: string[], rows: (string | number | boolean | null)[][]): string {
  const cell = (v: string | number | boolean | null) => {
    const s = v === null ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[columns, ...rows].map((r) => r.map(cell).join(',')).join('\n')}\n`;
}
