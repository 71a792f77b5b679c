/** Options objects refuse keys they do not know: a misspelt option is an error, never silently ignored. */
import { VmmError } from './errors.js';
import { describe } from './address.js';

/**
 * Checks that `options` (named `arg` in messages) is undefined or an object whose own keys are
 * all in `known`; EINVAL naming the first unknown key otherwise.
 */
export function strictOptions(options: unknown, arg: string, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') throw new VmmError('EINVAL', `${arg} must be an object, got ${describe(options)}`);
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new VmmError('EINVAL', `${arg}: unknown option ${JSON.stringify(k)} (known: ${known.join(', ')})`);
  }
}
