/**
 * Text widths for chart layout without a browser: DejaVu Sans's advance widths (the font the
 * PNG renderer uses for sans-serif here, and the widest common sans), so legends and labels are
 * sized to fit instead of guessed. Other fonts are narrower: a layout that fits here fits there.
 */

/** Advance widths of ' ' (32) to '~' (126) in thousandths of an em, from DejaVuSans.ttf's hmtx table. */
const ASCII = [
  318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787,
  603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
];

/** Width in pixels of `text` at `fontSize` px (characters outside ASCII count as a full em, a safe overestimate). */
export function textWidth(text: string, fontSize: number): number {
  let w = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    w += c >= 32 && c <= 126 ? ASCII[c - 32]! : 1000;
  }
  return (w / 1000) * fontSize;
}
