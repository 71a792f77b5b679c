/** Access kinds: names at the API, numbers in batches and in the core. */
import { VmmError } from '../errors.js';
import type { AccessKindName } from '../errors.js';
import { describe } from '../address.js';

/** Kind names indexed by their code (0 read, 1 write, 2 execute). */
export const KIND_NAMES: readonly AccessKindName[] = ['read', 'write', 'execute'];

/** Code of a kind name; EINVAL names `arg`. */
export function kindCode(kind: unknown, arg = 'kind'): number {
  switch (kind) {
    case 'read':
      return 0;
    case 'write':
      return 1;
    case 'execute':
      return 2;
    default:
      throw new VmmError('EINVAL', `${arg} must be 'read', 'write' or 'execute', got ${describe(kind)}`);
  }
}
