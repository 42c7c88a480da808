/*
 * npm run build:server — the services as JavaScript for the image (issue #19, finding 4): one bundle per entry point
 * the image runs (docker-compose's `command:` lines, the Dockerfile's CMD, the operators' CLIs), each with a source
 * map so `node --enable-source-maps` names the TypeScript line in a stack trace.
 *
 * Why esbuild bundles and not tsc emit: the workspaces export their TypeScript sources (package.json "exports" point
 * at src/*.ts) and import each other with .ts extensions; a bundle takes them in as they are, with no second set of
 * package.json exports and no emit step per workspace. esbuild is also the transform tsx runs in development and the
 * tests, so the image's code is the tests' code. Every npm package stays external, loaded from the production
 * node_modules at run time: native better-sqlite3, and packages that read their own files.
 *
 * Why each bundle lives in its workspace (broker/dist/main.js, not one root dist/): Node resolves a bare import from
 * the importing file's folder, and npm installs some dependencies in the workspace's own node_modules
 * (broker/node_modules/aedes-persistence-redis: a major the root cannot hold beside aedes's peer range). From
 * broker/dist the bundle finds what broker/src finds.
 *
 * import.meta.url: bundled, a module would see the bundle's URL, and what it reads beside its source (web/dist from
 * api/src/http-app.ts, packages/schema/data/seed-fleet.json, createRequire in broker/src/aedes-patches) would be
 * looked for in the wrong folder. Each module's import.meta.url becomes its source file's URL, taken relative to the
 * bundle, so it resolves alike in the checkout and in the image (which holds those files but not the .ts itself).
 */
import { readFile, rm } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Metafile, type Plugin } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))

export interface ServerEntry {
  /** The workspace folder (one level under the root); the bundle is `<workspace>/dist/<name>.js`. */
  workspace: string
  source: string
  name: string
  /**
   * The workspace whose dist/ holds the bundle, when not the source's own: a composer of several services bundles
   * where their packages resolve (the broker's own node_modules holds aedes-persistence-redis).
   */
  dist?: string
}

/** Every program the image runs. A new CLI for operators (`docker compose exec api node …`) belongs here too. */
export const SERVER_ENTRIES: readonly ServerEntry[] = [
  { workspace: 'broker', source: 'src/main.ts', name: 'main' },
  // Compose's one-shot `demo-seed` (profile demo): the seed fleet's secrets without SEED_DEMO_SECRETS on the broker.
  { workspace: 'broker', source: 'src/seed-demo.ts', name: 'seed-demo' },
  { workspace: 'ingest', source: 'src/main.ts', name: 'main' },
  { workspace: 'ingest', source: 'src/migrate-incidents.ts', name: 'migrate-incidents' },
  { workspace: 'api', source: 'src/main.ts', name: 'main' },
  { workspace: 'api', source: 'src/create-operator.ts', name: 'create-operator' },
  { workspace: 'api', source: 'src/migrate-meta.ts', name: 'migrate-meta' },
  // The daily open-data files (docs/sharing.md): `docker compose run --rm api node api/dist/export-open-data.js`.
  { workspace: 'api', source: 'src/export-open-data.ts', name: 'export-open-data' },
  { workspace: 'devices-sim', source: 'src/main.ts', name: 'main' },
  // Compose's default `broker`: broker and ingest in one process (issue #20; a cluster runs broker/ and ingest/ mains).
  { workspace: 'platform', source: 'src/embedded-main.ts', name: 'embedded-main', dist: 'broker' },
  // npm run backup / restore in the image: `docker compose run … broker node platform/dist/backup.js backup` (docs/operations.md).
  { workspace: 'platform', source: 'src/backup-cli.ts', name: 'backup' },
]

/** The bundle of an entry, relative to the root (what compose's `command:` runs, from the image's /app). */
export const bundlePath = (e: ServerEntry): string => `${bundleWorkspace(e)}/dist/${e.name}.js`

/** The workspace the bundle is written into (`<workspace>/dist/`), where its imports resolve. */
export const bundleWorkspace = (e: ServerEntry): string => e.dist ?? e.workspace

/** Packages a service must never carry: the TypeScript runner and the test helpers. */
const NOT_IN_A_SERVICE = /^(tsx|@mytho\/testing|@mytho\/web)(\/|$)/

/** Every npm package external (resolved from node_modules at run time); our workspaces (@mytho/*) bundled in. */
const npmPackagesExternal: Plugin = {
  name: 'npm-packages-external',
  setup(b) {
    // A bare specifier: neither relative nor absolute.
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind === 'entry-point') return undefined
      if (NOT_IN_A_SERVICE.test(args.path))
        return { errors: [{ text: `${args.path} is for development and tests, not a service (imported by ${args.importer})` }] }
      return args.path.startsWith('@mytho/') ? undefined : { path: args.path, external: true }
    })
  },
}

/** Rewrites each of our modules' import.meta.url to its source file's URL, relative to the bundle (<workspace>/dist/). */
const importMetaAtSource: Plugin = {
  name: 'import-meta-at-source',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${sep}node_modules${sep}`)) return undefined
      const text = await readFile(args.path, 'utf8')
      if (!text.includes('import.meta')) return undefined
      // dirname, filename, resolve(), main would each need their own rewrite; url covers what the sources use.
      const other = /\bimport\.meta\b(?!\.url\b)/.exec(text)
      if (other) return { errors: [{ text: `only import.meta.url is relocated for the bundle; found "${text.slice(other.index, other.index + 20)}"` }] }
      const source = `../../${relative(root, args.path).split(sep).join('/')}`
      return { contents: text.replace(/\bimport\.meta\.url\b/g, `new URL(${JSON.stringify(source)}, import.meta.url).href`), loader: 'ts' }
    })
  },
}
/**
 * Bundles every entry into `<outRoot>/<workspace>/dist/` (emptied first). outRoot is the repo (the image's /app);
 * the tests give a folder laid out as the image is, where the bundles find its node_modules and data files.
 */
export async function buildServer(outRoot = root): Promise<{ files: string[]; metafile: Metafile }> {
  const workspaces = [...new Set(SERVER_ENTRIES.map(bundleWorkspace))]
  if (workspaces.some((w) => w.includes('/'))) throw new Error('a workspace one level under the root: import.meta.url is relocated by ../../')
  await Promise.all(workspaces.map((w) => rm(join(outRoot, w, 'dist'), { recursive: true, force: true })))
  const result = await build({
    absWorkingDir: root,
    entryPoints: SERVER_ENTRIES.map((e) => ({ in: join(root, e.workspace, e.source), out: bundlePath(e).replace(/\.js$/, '') })),
    outdir: outRoot,
    bundle: true,
    platform: 'node',
    format: 'esm',
    // engines.node: the image runs a newer LTS, development and the tests Node 20.
    target: 'node20.19',
    sourcemap: 'linked',
    // Stack traces need only the mappings; the TypeScript sources stay out of the image.
    sourcesContent: false,
    // Bundling renames colliding top-level names; a class or function keeps its own .name in logs and errors.
    keepNames: true,
    metafile: true,
    logLevel: 'warning',
    plugins: [npmPackagesExternal, importMetaAtSource],
  })
  return { files: SERVER_ENTRIES.map(bundlePath), metafile: result.metafile }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { files } = await buildServer()
  process.stdout.write(`build:server: ${files.join(', ')}\n`)
}
