/** SVG to PNG through resvg (@resvg/resvg-js: a Rust renderer whose npm package ships prebuilt binaries, so nothing compiles at install). */
import { createRequire } from 'node:module';

interface ResvgModule {
  Resvg: new (svg: string, options: object) => { render(): { asPng(): Uint8Array; width: number; height: number } };
}

/** Renders `svg` at `scale` times its size (2 = sharp on high-density screens); throws when the renderer is not installed. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  let mod: ResvgModule;
  try {
    mod = createRequire(import.meta.url)('@resvg/resvg-js') as ResvgModule;
  } catch (e) {
    throw new Error(`PNG output needs @resvg/resvg-js, which did not load on ${process.platform}-${process.arch} (${(e as Error).message.split('\n')[0]}); write an .svg instead`);
  }
  // System fonts for the labels; sans-serif maps to whatever the system has (DejaVu Sans on Debian).
  const r = new mod.Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' }, background: 'white' });
  return r.render().asPng();
}
