import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import GithubSlugger from 'github-slugger'
import { marked, type Token, type Tokens } from 'marked'
import { describe, expect, it } from 'vitest'
import { apiEnv } from '@mytho/api'
import { brokerEnv } from '@mytho/broker'
import { simEnv } from '@mytho/devices-sim'
import { ingestEnv } from '@mytho/ingest'
import { bundlePath, SERVER_ENTRIES } from './build-server.ts'

/*
 * The docs are read by people who then set variables and follow links, so what they say is held to the code:
 * the configuration table has a row for every variable a service reads (and no row for one none reads), and
 * every relative link in README.md, BENCHMARKS.md and docs/*.md reaches a file, and a heading where it names one.
 * Markdown is parsed with marked (code blocks and code spans are not links); anchors are GitHub's (github-slugger).
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const CONFIG_DOC = 'docs/configuration.md'
const docs = [
  'README.md',
  'BENCHMARKS.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]
const tokensOf = (file: string): Token[] => marked.lexer(readFileSync(join(root, file), 'utf8'))
function walk(tokens: Token[], visit: (t: Token) => void): void {
  marked.walkTokens(tokens, (t) => {
    visit(t)
  })
}

/** What `npm start` reads beyond the four services: its own `startEnv`, found where the composer keeps it. */
function startAllVariables(): { file: string; names: string[] } {
  const files = ['scripts', 'platform']
    .filter((d) => existsSync(join(root, d)))
    .flatMap((d) => readdirSync(join(root, d), { recursive: true, encoding: 'utf8' }).map((f) => `${d}/${f}`))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.split('/').includes('node_modules'))
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8')
    const at = /\bstartEnv\s*=\s*z\.object\(\{/.exec(text)
    if (!at) continue
    // The object literal's body, to its matching brace.
    let depth = 1
    let end = at.index + at[0].length
    while (depth > 0 && end < text.length) (depth += text[end] === '{' ? 1 : text[end] === '}' ? -1 : 0), end++
    const body = text.slice(at.index + at[0].length, end - 1)
    return { file, names: [...body.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*:/gm)].map((m) => m[1]!) }
  }
  throw new Error('no `startEnv = z.object({` in scripts/ or platform/: where does `npm start` read its own variables now?')
}

const start = startAllVariables()
/** Each reader of variables, by the name the table's "used by" column gives it. */
const readers: Record<string, string[]> = {
  broker: Object.keys(brokerEnv.shape),
  ingest: Object.keys(ingestEnv.shape),
  api: Object.keys(apiEnv.shape),
  'devices-sim': Object.keys(simEnv.shape),
  '`npm start`': start.names,
}

interface Row {
  line: string
  first: string
  names: string[]
  usedBy: string[]
}
function configRows(): Row[] {
  const tables: Tokens.Table[] = []
  walk(tokensOf(CONFIG_DOC), (t) => {
    if (t.type === 'table' && (t as Tokens.Table).header[0]?.text === 'variable') tables.push(t as Tokens.Table)
  })
  expect(tables, `one table headed "variable" in ${CONFIG_DOC}`).toHaveLength(1)
  return tables[0]!.rows.map((cells) => ({
    line: cells.map((c) => c.text).join(' | '),
    first: cells[0]!.text,
    names: [...cells[0]!.text.matchAll(/`([^`]*)`/g)].map((m) => m[1]!),
    usedBy: cells[1]!.text.split(',').map((s) => s.trim()),
  }))
}

describe(`${CONFIG_DOC}: the configuration table`, () => {
  const rows = configRows()
  const documented = new Set(rows.flatMap((r) => r.names))

  it('finds what `npm start` reads itself', () => {
    expect(start.names, start.file).toContain('START_SIMULATOR')
  })

  it.each(Object.keys(readers))('has a row for every variable %s reads', (reader) => {
    expect(readers[reader]!.filter((name) => !documented.has(name))).toEqual([])
  })

  it('names in its first column only variables, in backticks, one or two a row separated by " / ", none twice', () => {
    const malformed = rows.filter((r) => !/^`[A-Z][A-Z0-9_]*`( \/ `[A-Z][A-Z0-9_]*`)?$/.test(r.first))
    expect(malformed.map((r) => r.line)).toEqual([])
    const names = rows.flatMap((r) => r.names)
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([])
  })

  it('names in each row a variable the services of its "used by" column read', () => {
    const known = new Set(Object.values(readers).flat())
    expect([...documented].filter((n) => !known.has(n))).toEqual([])
    const wrong = rows.flatMap((r) =>
      r.usedBy.flatMap((reader) => {
        // "all": the four services (commonEnv).
        const names = reader === 'all' ? ['broker', 'ingest', 'api', 'devices-sim'] : [reader]
        return names.flatMap((n) => {
          const reads = readers[n]
          if (reads === undefined) return [`${r.line}: unknown reader "${n}"`]
          return r.names.some((v) => reads.includes(v)) ? [] : [`${r.line}: ${n} reads none of ${r.names.join(', ')}`]
        })
      }),
    )
    expect(wrong).toEqual([])
  })
})

/** The plain text of a heading, as GitHub slugs it (code spans and emphasis without their marks). */
const plain = (tokens: Token[]): string => tokens.map((t) => ('tokens' in t && t.tokens ? plain(t.tokens) : 'text' in t ? String(t.text) : '')).join('')
const anchorsCache = new Map<string, Set<string>>()
function anchorsOf(file: string): Set<string> {
  let anchors = anchorsCache.get(file)
  if (anchors === undefined) {
    const slugger = new GithubSlugger()
    anchors = new Set()
    for (const t of tokensOf(file)) if (t.type === 'heading') anchors.add(slugger.slug(plain((t as Tokens.Heading).tokens)))
    anchorsCache.set(file, anchors)
  }
  return anchors
}

describe('README.md, BENCHMARKS.md and docs/*.md: links', () => {
  it('reads the docs it means to (README, BENCHMARKS, docs/ with the configuration)', () => {
    expect(docs).toContain(CONFIG_DOC)
  })

  it.each(docs)('%s: every relative link reaches a file, and a heading where it names one', (file) => {
    const broken: string[] = []
    walk(tokensOf(file), (t) => {
      if (t.type !== 'link' && t.type !== 'image') return
      const href = (t as Tokens.Link | Tokens.Image).href
      if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(href)) return // http:, https:, mailto:: not ours to check offline
      const [path, anchor] = href.split('#') as [string, string | undefined]
      const target = path === '' ? file : posix.normalize(posix.join(posix.dirname(file), decodeURI(path)))
      if (target.startsWith('../') || !existsSync(join(root, target))) return void broken.push(`${href} (no ${target})`)
      if (anchor !== undefined && target.endsWith('.md') && !anchorsOf(target).has(anchor)) broken.push(`${href} (no heading #${anchor} in ${target})`)
    })
    expect(broken).toEqual([])
  })
})

/*
 * Files move (issue #16); the docs name many in code, alone or in a command. Each such path must exist (a `*`
 * matches within one folder), except in the benchmark history, which names the files of its day.
 */
const repoFiles = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter((p) => p !== '' && existsSync(join(root, p)))
const tops = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces
  .map((w) => w.split('/')[0]!)
  .concat(['scripts', 'deploy', 'config', 'docs'])
const repoPath = new RegExp(`^(${[...new Set(tops)].join('|')})/[\\w.*/-]*$`)
/** Build output the docs name, made by `npm run build:web` and `npm run build:server`, not in the repo. */
const built = new Set(['web/dist', ...SERVER_ENTRIES.map(bundlePath)])

describe('README.md, BENCHMARKS.md and docs/*.md: the repo paths they name', () => {
  it.each(docs.filter((f) => f !== 'docs/benchmarks-history.md'))('%s: every repo path in code exists', (file) => {
    const missing = new Set<string>()
    walk(tokensOf(file), (t) => {
      if (t.type !== 'codespan' && t.type !== 'code') return
      // A path alone (`broker/src/cluster.ts`) or inside a command (`npx tsx platform/bench/map-fps.ts 10000`).
      for (const word of (t as Tokens.Codespan | Tokens.Code).text.split(/[\s,;()'"`]+/)) {
        const p = word.replace(/[.:]$/, '').replace(/\/$/, '')
        if (!repoPath.test(p) || built.has(p)) continue
        const found = p.includes('*')
          ? repoFiles.some((f) => new RegExp(`^${p.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`).test(f))
          : existsSync(join(root, p))
        if (!found) missing.add(p)
      }
    })
    expect([...missing]).toEqual([])
  })
})
