import { describe, expect, it } from 'vitest';
import { resolve, sep } from 'node:path';
import ts from 'typescript';

// Every type a user can receive from the API (a return value, a parameter, a property) must be
// importable by name: walks the published declarations (dist/, built by `npm test`) from the
// package's exports and lists the package's named types that are reachable but not exported.
function unexportedReachableTypes(): string[] {
  const dist = resolve('dist');
  const entry = resolve(dist, 'index.d.ts');
  const program = ts.createProgram([entry], { strict: true, skipLibCheck: true, types: ['node'] });
  const checker = program.getTypeChecker();
  const ours = (d: ts.Node) => d.getSourceFile().fileName.startsWith(dist + sep) || d.getSourceFile().fileName.startsWith(dist + '/');
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const exported = new Set<ts.Symbol>();
  for (const s of checker.getExportsOfModule(moduleSymbol)) exported.add(s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const seen = new Set<ts.Symbol>();
  const missing = new Set<string>();
  const visitDecl = (node: ts.Node): void => {
    if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node) || ts.isTypeQueryNode(node)) {
      const name = ts.isTypeReferenceNode(node) ? node.typeName : ts.isTypeQueryNode(node) ? node.exprName : node.expression;
      let sym = checker.getSymbolAtLocation(name);
      if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
      if (sym) visitSymbol(sym);
    }
    ts.forEachChild(node, visitDecl);
  };
  const visitSymbol = (sym: ts.Symbol): void => {
    if (seen.has(sym)) return;
    seen.add(sym);
    const decls = (sym.declarations ?? []).filter(ours);
    if (decls.length === 0) return;
    const named = sym.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Class | ts.SymbolFlags.Enum);
    if (named && !exported.has(sym) && !(sym.flags & ts.SymbolFlags.TypeParameter)) missing.add(sym.name);
    for (const d of decls) visitDecl(d);
  };
  for (const s of exported) visitSymbol(s);
  return [...missing].sort();
}

describe('the published declarations', () => {
  it('export every named type that the API takes or returns', () => {
    expect(unexportedReachableTypes()).toEqual([]);
  });
});
