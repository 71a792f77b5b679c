/**
 * `Symbol.dispose`, as Node 20.4+ and TypeScript's `using` know it; on an older runtime the
 * same symbol Node registers (Symbol.for('nodejs.dispose')), so `using m = new Machine()` works.
 */
(Symbol as { dispose?: symbol }).dispose ??= Symbol.for('nodejs.dispose');

export {};
