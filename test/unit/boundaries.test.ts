/**
 * The import directions the codebase keeps (renderer -> contract -> vocabulary <- engine), checked on
 * every source file: a wrong import fails here before it shows up as a bundling error or a Node type in
 * the page. Imports are read with TypeScript's own parser (type-only imports told apart).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..', '..')

interface Import {
  /** The file importing, relative to the repository. */
  file: string
  /** A package name, or the imported file's path relative to the repository (no extension). */
  target: string
  typeOnly: boolean
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|svelte)$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
}

function importsOf(file: string): Import[] {
  let text = readFileSync(join(ROOT, file), 'utf8')
  if (file.endsWith('.svelte'))
    text = [...text.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n')
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS)
  const found: Import[] = []
  const add = (specifier: ts.Expression | undefined, typeOnly: boolean) => {
    if (!specifier || !ts.isStringLiteral(specifier)) return
    const spec = specifier.text
    const target = spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), spec)) : spec
    found.push({ file, target, typeOnly })
  }
  for (const node of source.statements) {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause
      const named = clause?.namedBindings
      const allNamedTypes =
        !!named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)
      const typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && allNamedTypes))
      add(node.moduleSpecifier, typeOnly)
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly)
    }
  }
  // Dynamic import('...') in code counts as a value import.
  const visit = (n: ts.Node) => {
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) add(n.arguments[0], false)
    ts.forEachChild(n, visit)
  }
  visit(source)
  return found
}

const all = ['src-main', 'src-preload', 'src-renderer/src', 'src-shared'].flatMap(sourceFiles).flatMap(importsOf)
const from = (prefix: string) => all.filter((i) => i.file.startsWith(prefix))
const show = (list: Import[]) => list.map((i) => `${i.file} -> ${i.target}${i.typeOnly ? ' (type)' : ''}`)

describe('import directions', () => {
  it('reads the imports of every source file', () => {
    // A parser that found nothing would pass every rule below.
    expect(from('src-main/engine/').length).toBeGreaterThan(50)
    expect(from('src-renderer/').length).toBeGreaterThan(50)
    expect(all.some((i) => i.typeOnly)).toBe(true)
  })

  it('the vocabulary (src-shared) imports nothing outside itself', () => {
    expect(show(from('src-shared/').filter((i) => !i.target.startsWith('src-shared/')))).toEqual([])
  })

  it('the contract imports only zod, its channel names and the vocabulary: no engine code, not even types', () => {
    const contract = all.filter((i) =>
      ['src-preload/contract.ts', 'src-preload/channels.ts', 'src-preload/wire.ts'].includes(i.file),
    )
    const allowed = (i: Import) =>
      i.target === 'zod' || i.target.startsWith('src-shared/') || i.target.startsWith('src-preload/')
    expect(show(contract.filter((i) => !allowed(i)))).toEqual([])
  })

  it('the preload loads only electron and the channel list (a sandboxed preload can load nothing else)', () => {
    const values = from('src-preload/index.ts').filter((i) => !i.typeOnly)
    expect(values.map((i) => i.target).sort()).toEqual(['electron', 'src-preload/channels'])
    expect(show(from('src-preload/index.ts').filter((i) => i.target.startsWith('src-main')))).toEqual([])
  })

  it('the renderer imports no main-process code, no Node module and no electron', () => {
    const wrong = from('src-renderer/').filter(
      (i) => i.target.startsWith('src-main') || i.target.startsWith('node:') || i.target === 'electron',
    )
    expect(show(wrong)).toEqual([])
  })

  it('the engine imports nothing of the service, shell, host, CLI, preload or renderer, and no electron', () => {
    const outside = [
      'src-main/service',
      'src-main/host',
      'src-main/app',
      'src-main/cli',
      'src-main/index',
      'src-main/settings',
    ]
    const wrong = from('src-main/engine/').filter(
      (i) =>
        i.target === 'electron' ||
        i.target.startsWith('src-preload') ||
        i.target.startsWith('src-renderer') ||
        outside.some((o) => i.target === o || i.target.startsWith(o + '/')),
    )
    expect(show(wrong)).toEqual([])
  })

  it('nothing but the Electron shell imports electron', () => {
    const shell = (f: string) =>
      f === 'src-main/index.ts' || f.startsWith('src-main/app/') || f === 'src-preload/index.ts'
    expect(show(all.filter((i) => i.target === 'electron' && !shell(i.file)))).toEqual([])
  })
})
