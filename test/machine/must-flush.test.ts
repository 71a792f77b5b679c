/**
 * A TLB flush a page-table change obliges cannot be forgotten (src/machine/tlb-flush.ts): this
 * type-checks src/ and finds every expression whose value is a TlbFlush (or a list of them)
 * and is dropped — an expression statement, or the operand of `void` — as Rust's #[must_use]
 * would. (A TlbFlush kept in a variable and never used is an unused local: tsc refuses it.)
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Places in `files` where a TlbFlush value is dropped. */
function droppedFlushes(files: string[], options: ts.CompilerOptions): string[] {
  const program = ts.createProgram(files, options);
  const checker = program.getTypeChecker();
  const isFlush = (t: ts.Type): boolean => {
    if (t.isUnion()) return t.types.some(isFlush);
    const name = t.getSymbol()?.getName();
    if (name === 'TlbFlush') return true;
    if (checker.isArrayType(t)) return checker.getTypeArguments(t as ts.TypeReference).some(isFlush);
    return false;
  };
  const found: string[] = [];
  for (const sf of program.getSourceFiles()) {
    if (!files.includes(resolve(sf.fileName))) continue;
    const visit = (node: ts.Node): void => {
      const dropped = ts.isExpressionStatement(node) ? node.expression : ts.isVoidExpression(node) ? node.expression : undefined;
      if (dropped && !ts.isBinaryExpression(dropped) && isFlush(checker.getTypeAtLocation(dropped))) {
        const { line } = sf.getLineAndCharacterOfPosition(dropped.getStart());
        found.push(`${relative(process.cwd(), sf.fileName)}:${line + 1}: ${dropped.getText().slice(0, 80)}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return found;
}

const OPTIONS: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: ['node'] };

describe('TLB flushes are values that must be used', () => {
  it('no page-table change in src/ drops the TlbFlush it returns; the check finds one dropped', () => {
    // One program for both (type-checking src/ is most of the time): src/ and a fixture that drops flushes on lines 8, 9 and 10.
    const probe = resolve('test/machine/must-flush-probe.fixture.ts');
    const found = droppedFlushes([...sources(resolve('src')).map((f) => resolve(f)), probe], OPTIONS);
    expect(found.filter((f) => !f.includes('must-flush-probe'))).toEqual([]);
    expect(found.filter((f) => f.includes('must-flush-probe')).map((f) => f.replace(/^.*?:(\d+):.*$/, '$1'))).toEqual(['8', '9', '10']);
  }, 60_000);
});
