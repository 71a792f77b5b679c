/**
 * A small, strict command-line parser: declared options only; every usage error names the flag
 * and the text the user typed, suggests the nearest option or value, and exits 2.
 */
import { parseSize } from '../machine/options.js';
import { closest, didYouMean } from './suggest.js';

/** Bad command-line input: the message says what and how to fix it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One option of a command. */
export interface OptionSpec {
  /** Long name without dashes, e.g. 'tlb-entries'. */
  name: string;
  /**
   * flag: no value; int: a whole number (at least `min`, default 0); string: any text, or one of
   * `choices`; names: a comma-separated list of `choices`; list: comma-separated positive whole
   * numbers (sweeps); size: bytes like 64MiB (kept as typed, checked against `min`/`max` bytes).
   */
  type: 'flag' | 'int' | 'string' | 'names' | 'list' | 'size';
  /** Least value of an int option, or least bytes of a size (default 0). */
  min?: number;
  /** Largest value of an int option, or bytes of a size. */
  max?: number;
  /** One-letter alias, e.g. 'o' for -o. */
  short?: string;
  /** Allowed values of a string or names option. */
  choices?: readonly string[];
  /** Other spellings of choices (any case): 'rand' → 'random'. */
  choiceAliases?: Readonly<Record<string, string>>;
  /** Shown in --help. */
  help: string;
  /** Placeholder for the value in --help, e.g. 'N'. */
  value?: string;
  default?: string;
  /** Heading the option is listed under in --help (options without one come first). */
  group?: string;
  /** Options with the same row are one line of --help (--l1d-entries/-ways/-policy), with the first one's help. */
  row?: string;
  /** A line printed under the group's heading, before its options. */
  groupNote?: string;
}

/** A parsed option value: a flag's true, a number, a string (names: canonical, comma-joined; size: as typed) or a list. */
export type OptionValue = string | number | boolean | number[];

/** Parsed arguments: options by long name (with the text typed for each), and positional arguments. */
export interface ParsedArgs {
  options: Map<string, OptionValue>;
  /** The value as the user typed it, for messages: raw.get('memory') === '2TiB'. */
  raw: Map<string, string>;
  positional: string[];
}

/** `--name value` as the user wrote it, quoted only when it would not read back as one word. */
export function typed(name: string, raw: string): string {
  return `--${name} ${/^[\w.,:/+@%=-]+$/.test(raw) ? raw : JSON.stringify(raw)}`;
}

/** Parses argv against `specs`; throws UsageError on an unknown option, a missing or bad value. */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command: string): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options: ParsedArgs['options'] = new Map();
  const raw: ParsedArgs['raw'] = new Map();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    // '-' is standard input; -1 is a (negative) positional value, not an option.
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positional.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = arg.slice(2, eq < 0 ? undefined : eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
    } else {
      // -h is --help; -x is the option whose short name is x; -xVALUE gives it a value.
      const letter = arg[1]!;
      const s = letter === 'h' && byName.has('help') && !specs.some((sp) => sp.short === 'h') ? byName.get('help') : specs.find((sp) => sp.short === letter);
      if (!s) throw new UsageError(`${command}: unknown option ${arg}${suggestOption(arg.slice(1), specs)} (see vmsim help ${command})`);
      name = s.name;
      if (arg.length > 2) inline = arg.slice(2).replace(/^=/, '');
      // -cN: flags bundled as getopt allows.
      if (s.type === 'flag' && inline !== undefined) {
        const rest = [...inline].map((ch) => specs.find((sp) => sp.short === ch));
        if (rest.every((sp) => sp !== undefined && sp.type === 'flag')) {
          for (const sp of [s, ...rest]) options.set(sp!.name, true);
          continue;
        }
      }
    }
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`${command}: unknown option --${name}${suggestOption(name, specs)} (see vmsim help ${command})`);
    if (spec.type === 'flag') {
      if (inline !== undefined) throw new UsageError(`${command}: --${name} takes no value (got ${JSON.stringify(inline)})`);
      options.set(name, true);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      // "--frames --json" forgot the value; "--frames -1" gave a bad one (said below).
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`${command}: --${name} needs a value (${spec.value ?? 'VALUE'})`);
      value = next;
      i++;
    }
    if (options.has(name) && raw.get(name) !== value) throw new UsageError(`${command}: --${name} given twice (${raw.get(name)} and ${value}); give it once${spec.type === 'list' || spec.type === 'names' ? ', with the values separated by commas' : ''}`);
    options.set(name, convert(value, spec, command));
    raw.set(name, value);
  }
  return { options, raw, positional };
}

/** " (did you mean --x?)" for an unknown option name. */
function suggestOption(name: string, specs: readonly OptionSpec[]): string {
  const c = closest(name, specs.map((s) => s.name));
  return c !== undefined ? `; did you mean --${c}?` : '';
}

/** The canonical spelling of `word` among the spec's choices (any case, or an alias), else undefined. */
export function canonicalChoice(word: string, spec: Pick<OptionSpec, 'choices' | 'choiceAliases'>): string | undefined {
  const w = word.trim().toLowerCase();
  const alias = spec.choiceAliases?.[w];
  if (alias !== undefined) return alias;
  return spec.choices?.find((c) => c.toLowerCase() === w);
}

/** A UsageError "command: --name typed: problem". */
export function badValue(command: string, name: string, rawText: string, problem: string): UsageError {
  return new UsageError(`${command}: ${typed(name, rawText)}: ${problem}`);
}

function wholeNumber(s: string, spec: OptionSpec, command: string, rawText: string, least: number): number {
  const t = s.trim();
  const what = spec.type === 'list' ? 'each item must be a whole number' : 'needs a whole number';
  const range = spec.max !== undefined ? ` in [${least}, ${spec.max}]` : least === 1 ? ' of at least 1' : least === 0 ? ' (0 or more)' : ` of at least ${least}`;
  if (!/^[+-]?\d+$/.test(t)) throw badValue(command, spec.name, rawText, `${what}${range}${t === s && spec.type !== 'list' ? '' : `, got ${JSON.stringify(s)}`}`);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) throw badValue(command, spec.name, rawText, `${t} is too large`);
  if (n < least || (spec.max !== undefined && n > spec.max)) throw badValue(command, spec.name, rawText, `${what}${range}${spec.type === 'list' ? `, got ${t}` : ''}`);
  return n;
}

function convert(rawText: string, spec: OptionSpec, command: string): OptionValue {
  switch (spec.type) {
    case 'string': {
      if (!spec.choices) return rawText;
      const c = canonicalChoice(rawText, spec);
      if (c === undefined) throw badValue(command, spec.name, rawText, `must be one of ${spec.choices.join(', ')}${didYouMean(rawText, spec.choices)}`);
      return c;
    }
    case 'names': {
      const parts = rawText.split(',').map((p) => p.trim());
      if (parts.some((p) => p === '')) throw badValue(command, spec.name, rawText, 'needs a comma-separated list without empty items');
      return parts
        .map((p) => {
          const c = spec.choices ? canonicalChoice(p, spec) : p;
          if (c === undefined) throw badValue(command, spec.name, rawText, `${JSON.stringify(p)} is not one of ${spec.choices!.join(', ')}${didYouMean(p, spec.choices!)}`);
          return c;
        })
        .join(',');
    }
    case 'size': {
      let bytes: number;
      try {
        bytes = parseSize(rawText, `--${spec.name}`);
      } catch {
        throw badValue(command, spec.name, rawText, "needs a size like 64MiB, 1GiB or 4096 (bytes)");
      }
      const unit = (n: number) => (n >= 2 ** 40 ? `${n / 2 ** 40} TiB` : n >= 2 ** 30 ? `${n / 2 ** 30} GiB` : n >= 2 ** 20 ? `${n / 2 ** 20} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} bytes`);
      if (bytes % 4096 !== 0) throw badValue(command, spec.name, rawText, 'must be a whole number of 4 KiB pages');
      if ((spec.min !== undefined && bytes < spec.min) || (spec.max !== undefined && bytes > spec.max)) {
        throw badValue(command, spec.name, rawText, `out of range: ${spec.min !== undefined ? unit(spec.min) : '0'} to ${spec.max !== undefined ? unit(spec.max) : 'any size'}`);
      }
      return rawText;
    }
    case 'int':
      return wholeNumber(rawText, spec, command, rawText, spec.min ?? 0);
    case 'list': {
      const parts = rawText.split(',');
      if (parts.some((p) => p.trim() === '')) throw badValue(command, spec.name, rawText, 'needs a comma-separated list of whole numbers (1 or more) without empty items');
      return parts.map((p) => wholeNumber(p, spec, command, rawText, Math.max(1, spec.min ?? 1)));
    }
    default:
      return true;
  }
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
  expect: { count: number; what: string; orMore?: boolean; orFewer?: boolean },
): ParsedArgs | undefined {
  // --help wins over everything else on the line, as git's and npm's do.
  if (argv.slice(0, argv.includes('--') ? argv.indexOf('--') : undefined).some((x) => x === '--help' || (x === '-h' && !specs.some((s) => s.short === 'h')))) {
    out.write(help + '\n');
    return undefined;
  }
  const a = parseArgs(argv, specs, command);
  const n = a.positional.length;
  const bad = expect.orMore ? n < expect.count : expect.orFewer ? n > expect.count : n !== expect.count;
  if (bad) {
    const extra = n > expect.count ? ` (${a.positional.slice(expect.count).map((p) => JSON.stringify(p)).join(' ')} is not an option of ${command})` : '';
    throw new UsageError(`${command}: expected ${expect.what}, got ${n} argument(s)${extra} (see vmsim help ${command})`);
  }
  if (a.options.has('json') && a.options.has('csv')) throw new UsageError(`${command}: choose one of --json and --csv`);
  return a;
}

/** Words of `text` in lines of at most `width` characters (a longer word stays whole). */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/).filter((x) => x !== '')) {
    if (line !== '' && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line === '' ? w : `${line} ${w}`;
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

/** The help text of one command's options, grouped under their headings, wrapped at `width` columns. */
export function formatOptions(specs: readonly OptionSpec[], width = 100): string {
  const left = (s: OptionSpec) => {
    if (s.row !== undefined) {
      const names = specs.filter((x) => x.row === s.row).map((x) => x.name.slice(s.row!.length + 1));
      return `      --${s.row}-${names.join('/-')}`;
    }
    const short = s.short ?? (s.name === 'help' ? 'h' : undefined);
    return `  ${short ? `-${short}, ` : '    '}--${s.name}${s.type === 'flag' ? '' : ` ${s.value ?? (s.choices ? s.choices.join('|') : 'VALUE')}`}`;
  };
  const shown = specs.filter((s) => s.row === undefined || specs.find((x) => x.row === s.row) === s);
  const col = Math.min(38, Math.max(...shown.map((s) => left(s).length)) + 2);
  const groups: string[] = [];
  for (const s of shown) if (!groups.includes(s.group ?? '')) groups.push(s.group ?? '');
  groups.sort((a, b) => (a === '' ? -1 : b === '' ? 1 : 0));
  const out: string[] = [];
  for (const g of groups) {
    const members = shown.filter((x) => (x.group ?? '') === g);
    if (g !== '') out.push('', `${g}:`);
    for (const s of members) {
      if (s.groupNote !== undefined) out.push(...wrapText(s.groupNote, width - 2).map((t) => `  ${t}`));
      const l = left(s);
      const text = wrapText(s.help + (s.default !== undefined ? ` (default ${s.default})` : ''), Math.max(30, width - col));
      if (l.length + 2 > col) out.push(l, ...text.map((t) => ' '.repeat(col) + t));
      else out.push(l.padEnd(col) + text[0], ...text.slice(1).map((t) => ' '.repeat(col) + t));
    }
  }
  return out.join('\n').replace(/^\n/, '');
}
