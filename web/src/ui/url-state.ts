/**
 * Any state of the page is a URL: the tab, the scenario and the step live in the fragment
 * (#tab=replace&refs=...&step=7), which works from a file as well as from `vmsim serve`.
 */

/** The page's parameters. */
export type Params = URLSearchParams;

/** The parameters of the current URL. */
export function readParams(): Params {
  return new URLSearchParams(location.hash.replace(/^#/, ''));
}

/** Writes `params` into the URL without adding a history entry for every step. */
export function writeParams(params: Params): void {
  const hash = '#' + params.toString();
  if (location.hash !== hash) history.replaceState(null, '', hash);
}

/** An integer parameter within [min, max], or the default. */
export function intParam(p: Params, name: string, dflt: number, min: number, max: number): number {
  const v = Number(p.get(name));
  return p.has(name) && Number.isInteger(v) && v >= min && v <= max ? v : dflt;
}
