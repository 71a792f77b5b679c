/** node:fs in the browser: swap devices live in memory there; a swap *file* is refused. */
function refuse(): never {
  const e = new Error('swap.file needs Node (a browser has no files): leave it out to keep swap in memory') as Error & { code: string };
  e.code = 'ENOSYS';
  throw e;
}

export const closeSync = refuse;
export const existsSync = refuse;
export const ftruncateSync = refuse;
export const openSync = refuse;
export const readSync = refuse;
export const statSync = refuse;
export const statfsSync = refuse;
export const writeSync = refuse;
