/** Options that name a chart file: the format follows the name, and the file is checked before any work. */
import { basename } from 'node:path';
import { chartFormat, checkWritable } from '../report/index.js';
import { badValue, type OptionSpec, type ParsedArgs } from './args.js';

/** A --plot-like option writing FILE.svg or FILE.png. */
export function plotSpec(name: string, help: string, group?: string): OptionSpec {
  return { name, type: 'string', value: 'FILE.svg|FILE.png', help: `${help}, as SVG or PNG by the name`, ...(group ? { group } : {}) };
}

/** The chart file option `name` gave, checked now (UsageError naming it and why), or undefined. */
export function checkedPlot(a: ParsedArgs, name: string, command: string): string | undefined {
  const file = a.options.get(name) as string | undefined;
  if (file === undefined) return undefined;
  try {
    chartFormat(file);
  } catch (e) {
    throw badValue(command, name, file, (e as Error).message);
  }
  return file;
}

/** How a chart names a trace: its file name ('-' is standard input). */
export function traceName(trace: string): string {
  return trace === '-' ? 'standard input' : basename(trace);
}

/** The output file option `name` gave (a CSV, a trace), checked now: UsageError naming it and why it cannot be written. */
export function checkedOutput(a: ParsedArgs, name: string, command: string): string | undefined {
  const file = a.options.get(name) as string | undefined;
  if (file !== undefined) checkOutputPath(file, name, command);
  return file;
}

/** UsageError "--name FILE: why" unless FILE can be created or replaced. */
export function checkOutputPath(file: string, name: string, command: string): void {
  try {
    checkWritable(file);
  } catch (e) {
    throw badValue(command, name, file, (e as Error).message);
  }
}
