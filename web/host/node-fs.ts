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
export const fstatSync = refuse;
export const readFileSync = refuse;
export const rmSync = refuse;
/** The open flags swap-device.ts names (their values never reach a file in the browser). */
export const constants = { O_RDWR: 2, O_CREAT: 64, O_NONBLOCK: 2048, O_NOFOLLOW: 131072, O_EXCL: 128, O_WRONLY: 1, O_RDONLY: 0 };
