/**
 * What a Machine nobody disposed still holds outside memory when the garbage collector takes it:
 * its swap file (a descriptor and the file's lock). They are closed then, as dispose() would.
 * (Its simulated RAM and frames are the native core's own to free: src/core/native-core.ts.)
 */

/** Something a machine holds that must be closed when it is collected. */
export interface Closable {
  close(): void;
}

const registry = new FinalizationRegistry<Closable>((held) => {
  try {
    held.close();
  } catch {
    // Nothing to report to: the machine is gone.
  }
});

/** Closes `held` once `machine` is collected (`held` must not refer to the machine). */
export function closeWhenCollected(machine: object, held: Closable): void {
  registry.register(machine, held, machine);
}

/** `machine` was disposed: nothing is left to close for it. */
export function disposed(machine: object): void {
  registry.unregister(machine);
}
