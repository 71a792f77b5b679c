/** A small, strict command-line parser: declared options only, clear messages, exit code 2 on misuse. */

/** Bad command-line input: the message says what and how to fix it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One option of a command. */
export interface OptionSpec {
  /** Long name without dashes, e.g. 'tlb-entries'. */
  name: string;
  /** flag: no value; int: a non-negative integer; string: any text; list: comma-separated positive integers (sweeps). */
  type: 'flag' | 'int' | 'string' | 'list';
  /** Least value of an int option (default 0). */
  min?: number;
  /** One-letter alias, e.g. 'o' for -o. */
  short?: string;
  /** Allowed values for a string option. */
  choices?: readonly string[];
  /** Shown in --help. */
  help: string;
  /** Placeholder for the value in --help, e.g. 'N'. */
  value?: string;
  default?: string;
}

/** Parsed arguments: options by long name, and positional arguments. */
export interface ParsedArgs {
  options: Map<string, string | number | boolean | number[]>;
  positional: string[];
}

/** Parses argv against `specs`; throws UsageError on an unknown option, a missing or bad value. */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command: string): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options: ParsedArgs['options'] = new Map();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    // -h is --help for every command that has --help; -x is the option whose short name is x.
    const shortName = /^-[a-zA-Z]$/.test(argv[i]!) ? (argv[i] === '-h' && byName.has('help') ? 'help' : specs.find((s) => s.short === argv[i]![1])?.name) : undefined;
    const a = shortName !== undefined ? `--${shortName}` : argv[i]!;
    if (!a.startsWith('--') || a === '--') {
      if (a === '--') positional.push(...argv.slice(i + 1));
      else positional.push(a);
      if (a === '--') break;
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`${command}: unknown option --${name} (see vmsim ${command} --help)`);
    if (spec.type === 'flag') {
      if (eq >= 0) throw new UsageError(`${command}: --${name} takes no value`);
      options.set(name, true);
      continue;
    }
    const raw = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new UsageError(`${command}: --${name} needs a value (${spec.value ?? 'VALUE'})`);
    options.set(name, convert(raw, spec, command));
  }
  return { options, positional };
}

function convert(raw: string, spec: OptionSpec, command: string): string | number | number[] {
  if (spec.type === 'string') {
    if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`${command}: --${spec.name} must be one of ${spec.choices.join(', ')}; got ${JSON.stringify(raw)}`);
    return raw;
  }
  const parseInt1 = (s: string): number => {
    if (!/^\d+$/.test(s.trim())) throw new UsageError(`${command}: --${spec.name} needs a non-negative integer, got ${JSON.stringify(s)}`);
    const n = Number(s);
    if (!Number.isSafeInteger(n)) throw new UsageError(`${command}: --${spec.name} ${s} is too large`);
    return n;
  };
  if (spec.type === 'int') {
    const n = parseInt1(raw);
    if (spec.min !== undefined && n < spec.min) throw new UsageError(`${command}: --${spec.name} must be at least ${spec.min}, got ${n}`);
    return n;
  }
  const parts = raw.split(',');
  if (parts.some((p) => p.trim() === '')) throw new UsageError(`${command}: --${spec.name} needs a comma-separated list of positive integers without empty items, got ${JSON.stringify(raw)}`);
  return parts.map((p) => {
    const n = parseInt1(p);
    if (n === 0) throw new UsageError(`${command}: --${spec.name} items must be positive, got 0 in ${JSON.stringify(raw)}`);
    return n;
  });
}

/**
 * A command's arguments: undefined after printing `help` for --help; otherwise the parsed
 * options, with exactly `expect.count` positional arguments (UsageError naming `expect.what`).
 */
export function parseCommand(
  argv: readonly string[],
  specs: readonly OptionSpec[],
  command: string,
  help: string,
  out: { write(s: string): unknown },
  expect: { count: number; what: string; orMore?: boolean },
): ParsedArgs | undefined {
  const a = parseArgs(argv, specs, command);
  if (a.options.has('help')) {
    out.write(help + '\n');
    return undefined;
  }
  if (expect.orMore ? a.positional.length < expect.count : a.positional.length !== expect.count) throw new UsageError(`${command}: expected ${expect.what}, got ${a.positional.length} argument(s) (see vmsim ${command} --help)`);
  if (a.options.has('json') && a.options.has('csv')) throw new UsageError(`${command}: choose one of --json and --csv`);
  return a;
}

/** The help text of one command's options. */
export function formatOptions(specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const left = `  ${s.short ? `-${s.short}, ` : ''}--${s.name}${s.type === 'flag' ? '' : ` ${s.value ?? (s.choices ? s.choices.join('|') : 'VALUE')}`}`;
    const dflt = s.default !== undefined ? ` (default ${s.default})` : '';
    return [left, s.help + dflt] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, h]) => l.padEnd(width) + h).join('\n');
}
