import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import ignore from '@balena/dockerignore'
import { describe, expect, it } from 'vitest'

/*
 * No Docker engine runs on our machines, so the build context `docker build .` would send is computed here: the
 * repo's files (tracked and untracked-but-not-git-ignored) plus files a real checkout or a developer's machine
 * holds and git ignores (.env, DATA_DIR, keys, bench results), filtered by .dockerignore with Docker's own matching
 * rules (@balena/dockerignore, a port of moby's). The image (`COPY . .`) must hold no secret, test or bench, and
 * still everything the Dockerfile and the services need.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const rules = ignore().add(readFileSync(join(root, '.dockerignore'), 'utf8').split('\n'))

/** What a checkout can hold beside the tracked files: secrets, data, keys, stray tests and benches, build output. */
const planted = [
  '.env',
  '.env.production',
  '.env.local',
  'api/.env',
  'data/meta.sqlite',
  'data/meta.sqlite-wal',
  'data/secrets/demo-secrets.json',
  'data/broker-sessions/CURRENT',
  'broker/secrets/ca.json',
  'certs/server.key',
  'certs/server.crt',
  'certs/ca.pem',
  'certs/client.p12',
  'api/test/x.test.ts',
  'broker/src/foo.test.ts',
  'api/src/auth/foo.test-suite.ts',
  'web/test/harness-extra.ts',
  'platform/bench/latency.ts',
  'platform/bench/bench.ts',
  'bench-results/2026-12-04.json',
  'ingest/bench/soak.ts',
  'docs/architecture.md',
  '.git/config',
  '.ci/run',
  'node_modules/zod/package.json',
  'api/node_modules/x/index.js',
]

const repoFiles = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  // --cached lists a tracked file deleted in the work tree too: the context has only what is on disk.
  .filter((p) => p !== '' && existsSync(join(root, p)))
const candidates = [...new Set([...repoFiles, ...planted])].sort()
/** The files of the build context, as `docker build .` sends them. */
const context = new Set(rules.filter(candidates))

const segments = (p: string) => p.split('/')
const base = (p: string) => posix.basename(p)

/** Why a path must stay out of the image, or undefined; written independently of .dockerignore's patterns. */
function forbidden(p: string): string | undefined {
  const s = segments(p)
  if (base(p).startsWith('.env')) return 'environment file (secrets)'
  if (s[0] === 'data' || s.includes('secrets')) return 'data or secrets folder'
  if (/\.(pem|key|crt|p12|pfx)$/.test(p)) return 'private key or certificate'
  if (/\.test(-suite|-helpers)?\.ts$/.test(p) || s.includes('test') || p.startsWith('packages/testing/src/') || p === 'vitest.config.ts') return 'test'
  if (s.includes('bench') || s.includes('bench-results') || /\.bench\.ts$/.test(p)) return 'bench'
  if (s[0] === 'docs' || s[0] === '.git' || s[0] === '.ci' || s.includes('node_modules')) return 'not for the image'
  return undefined
}

/** The workspaces' folders, from the root package.json. */
const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces

/** The sources of the Dockerfile's COPY lines that copy from the build context (not `--from=` a stage). */
function copySources(): string[] {
  const lines = readFileSync(join(root, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
  const sources: string[] = []
  for (const line of lines) {
    const m = /^COPY\s+(.*)$/i.exec(line)
    if (!m) continue
    const args = m[1]!.split(/\s+/)
    if (args.some((a) => a.startsWith('--from'))) continue
    sources.push(...args.filter((a) => !a.startsWith('--')).slice(0, -1))
  }
  return sources
}

describe('.dockerignore: the build context', () => {
  it('holds no secret, test or bench (.env*, DATA_DIR, secrets, keys, tests and their helpers, benches, docs, .git, .ci, node_modules)', () => {
    const leaks = [...context].flatMap((p) => {
      const why = forbidden(p)
      return why === undefined ? [] : [`${p} (${why})`]
    })
    expect(leaks).toEqual([])
    // Sanity: the rule set above does flag what a checkout holds, so an empty list means .dockerignore kept it out.
    for (const p of planted) expect(forbidden(p), p).toBeDefined()
  })

  it('holds everything the Dockerfile and the services need', () => {
    const needed = [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.base.json',
      ...workspaces.map((w) => `${w}/package.json`),
      'api/src/main.ts',
      'api/src/create-operator.ts',
      'api/src/migrate-meta.ts',
      'broker/src/main.ts',
      'ingest/src/main.ts',
      'platform/src/embedded-main.ts',
      'ingest/src/migrate-incidents.ts',
      'devices-sim/src/main.ts',
      'platform/src/start-all.ts',
      'web/index.html',
      'web/vite.config.ts',
      'packages/schema/data/seed-fleet.json',
      'packages/schema/ngsi-ld/context/mytho.jsonld',
      'packages/schema/ngsi-ld/schemas/FloodMonitoring.schema.json',
      // npm run build:server, in the image's build stage.
      'deploy/build-server.ts',
    ]
    expect(needed.filter((p) => !context.has(p))).toEqual([])
    // Every source file of a workspace that is not a test: what tsx runs and Vite builds.
    const sources = repoFiles.filter((p) => workspaces.some((w) => p.startsWith(`${w}/src/`)) && forbidden(p) === undefined)
    expect(sources.length).toBeGreaterThan(100)
    expect(sources.filter((p) => !context.has(p))).toEqual([])
  })

  it("has every single-file source of the Dockerfile's COPY lines", () => {
    const sources = copySources()
    expect(sources).toContain('package-lock.json')
    const files = sources.filter((s) => s !== '.' && !s.endsWith('/'))
    expect(files.filter((s) => !context.has(s))).toEqual([])
    // `COPY . .` copies the rest: a folder source would need at least one file in the context.
    for (const dir of sources.filter((s) => s.endsWith('/')))
      expect(
        [...context].some((p) => p.startsWith(dir)),
        dir,
      ).toBe(true)
  })

  it('leaves out no file that a file in the image imports (relative imports and @mytho/* workspace imports)', () => {
    const packageDirs = new Map(workspaces.map((w) => [(JSON.parse(readFileSync(join(root, w, 'package.json'), 'utf8')) as { name: string }).name, w] as const))
    const missing: string[] = []
    for (const file of repoFiles.filter((p) => context.has(p) && /\.(ts|mts|js|mjs)$/.test(p))) {
      const text = readFileSync(join(root, file), 'utf8')
      // `from '…'` ends every static import and re-export (one line or many); `import '…'` and `import('…')` the others.
      for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"\n]+)['"]/g)) {
        const spec = m[1]!
        let target: string | undefined
        if (spec.startsWith('./') || spec.startsWith('../')) target = posix.normalize(posix.join(dirname(file), spec))
        else {
          const pkg = /^(@mytho\/[^/]+)(?:\/(.+))?$/.exec(spec)
          const dir = pkg && packageDirs.get(pkg[1]!)
          if (dir) target = pkg[2] === undefined ? `${dir}/src/index.ts` : `${dir}/src/${pkg[2]}.ts`
        }
        if (target !== undefined && /\.(ts|mts|js|mjs|json|html|css)$/.test(target) && !context.has(target)) missing.push(`${file} imports ${spec}`)
      }
    }
    expect(missing).toEqual([])
  })
})
