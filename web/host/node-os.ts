/** node:os in the browser: the host's memory, as far as the browser tells (navigator.deviceMemory, GiB, capped at 8 by browsers). */
export function totalmem(): number {
  const gib = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory;
  return (typeof gib === 'number' && gib > 0 ? gib : 4) * 2 ** 30;
}
