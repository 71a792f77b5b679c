/** Plain-text tables and the number formats of the command's reports. */

/** An aligned table: two spaces between columns, a dashed line under the header, no trailing spaces. */
export function formatTable(rows: ReadonlyArray<ReadonlyArray<string | number>>, options: { header?: ReadonlyArray<string>; align?: ReadonlyArray<'left' | 'right'> } = {}): string {
  const all = options.header ? [options.header, ...rows] : rows;
  const cols = Math.max(0, ...all.map((r) => r.length));
  const width = Array.from({ length: cols }, (_, c) => Math.max(0, ...all.map((r) => String(r[c] ?? '').length)));
  const alignOf = (c: number, v: unknown) => options.align?.[c] ?? (typeof v === 'number' ? 'right' : 'left');
  const line = (r: ReadonlyArray<string | number>, header: boolean) =>
    Array.from({ length: cols }, (_, c) => {
      const s = String(r[c] ?? '');
      return (header ? alignOf(c, rows[0]?.[c]) : alignOf(c, r[c])) === 'right' ? s.padStart(width[c]!) : s.padEnd(width[c]!);
    })
      .join('  ')
      .replace(/\s+$/, '');
  const out: string[] = [];
  if (options.header) {
    out.push(line(options.header, true));
    out.push(width.map((w) => '-'.repeat(w)).join('  '));
  }
  for (const r of rows) out.push(line(r, false));
  return out.join('\n') + '\n';
}

/** An integer with thousands separators: 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  const s = String(Math.round(Math.abs(n)));
  return (n < 0 ? '-' : '') + s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** part/whole as a percentage with two decimals ("0.00%" when whole is 0). */
export function formatRate(part: number, whole: number): string {
  return `${(whole > 0 ? (100 * part) / whole : 0).toFixed(2)}%`;
}

/** A duration for people: "850 ms", "12.3 s", "2 min 5 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A byte count in binary units: "512 B", "4.0 KiB", "1.5 MiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}
