/** XML text for the SVG charts. */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text for XML content and attribute values; characters XML 1.0 forbids even escaped become U+FFFD. */
export function escapeXml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** A number without float noise: 5.000000000000001 → "5", 0.1 + 0.2 → "0.3". */
export function numLabel(v: number): string {
  const r = Number(v.toPrecision(12));
  return Object.is(r, -0) ? '0' : String(r);
}

/** Pixel coordinates with two decimals at most, so output is short and deterministic. */
export const px = (v: number): string => numLabel(Math.round(v * 100) / 100);
