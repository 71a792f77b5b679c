/** Plain-text tables and the number formats of the command's reports. */

/** Column alignment in a table. */
export type Align = 'left' | 'right';

/** How formatTable lays out a table. */
export interface TableOptions {
  /** Column titles, underlined with '-'. */
  header?: ReadonlyArray<string>;
  /** Per-column alignment; unset columns right-align numbers and left-align strings. */
  align?: ReadonlyArray<Align>;
}

/** An aligned table: two spaces between columns, a dashed line under the header, no trailing spaces, each line ending in '\n'. */
export function formatTable(rows: ReadonlyArray<ReadonlyArray<string | number>>, options: TableOptions = {}): string {
  const { header, align } = options;
  const all = header ? [header, ...rows] : rows;
  const cols = Math.max(0, ...all.map((r) => r.length));
  const width = Array.from({ length: cols }, (_, c) => Math.max(0, ...all.map((r) => String(r[c] ?? '').length)));
  // A header title sits over its column: right-aligned only when the column is all numbers.
  const headerRight = Array.from({ length: cols }, (_, c) => {
    const cells = rows.map((r) => r[c]).filter((v) => v !== undefined);
    return cells.length > 0 && cells.every((v) => typeof v === 'number');
  });
  const line = (r: ReadonlyArray<string | number>, isHeader: boolean) =>
    Array.from({ length: cols }, (_, c) => {
      const s = String(r[c] ?? '');
      const right = (align?.[c] ?? (isHeader ? (headerRight[c] ? 'right' : 'left') : typeof r[c] === 'number' ? 'right' : 'left')) === 'right';
      return right ? s.padStart(width[c]!) : s.padEnd(width[c]!);
    })
      .join('  ')
      .replace(/ +$/, '');
  const out: string[] = [];
  if (header) {
    out.push(line(header, true));
    out.push(width.map((w) => '-'.repeat(w)).join('  ').replace(/ +$/, ''));
  }
  for (const r of rows) out.push(line(r, false));
  return out.map((l) => l + '\n').join('');
}

/** An integer with thousands separators (rounded first): 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const r = Math.round(n);
  // BigInt keeps all digits where String() would switch to exponent notation (≥ 1e21).
  const digits = BigInt(Math.abs(r)).toString();
  return (r < 0 ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * part/whole as a percentage with two decimals: (1, 8) → "12.50%"; "0.00%" when whole or part is 0.
 * Below 1% three significant digits, so a real rate never prints as zero: (3322, 93.6e6) → "0.00355%".
 */
export function formatRate(part: number, whole: number): string {
  const r = whole === 0 ? 0 : (100 * part) / whole;
  if (r > 0 && r < 1) return `${Number(r.toPrecision(3))}%`;
  return `${r.toFixed(2)}%`;
}

/** A duration for people: "4.2 ms" (under 10 ms), "850 ms", "12.3 s", "2 min 5 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return `${ms} ms`;
  if (ms < 0) return '-' + formatDuration(-ms);
  // Each unit is chosen after rounding, so 999.7 ms is "1.0 s", not "1000 ms".
  if (ms < 9.95) return `${ms.toFixed(1)} ms`;
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A byte count in binary units: "512 B", "4.0 KiB", "1.5 MiB" (up to EiB). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return `${n} B`;
  if (n < 0) return '-' + formatBytes(-n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  if (n < 1024) return `${n} B`;
  let u = 0;
  let v = n;
  // Move up while the rounded value would print as 1024.0 or more.
  while (u < units.length - 1 && Math.round(v * 10) >= 1024 * 10) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
