/*
 * What may import what (README, Layout; ../shared/conventions.md, Boundaries). Run by deploy/boundaries.test.ts,
 * so `npm test` fails on a crossed line; by hand: `npx depcruise --config .dependency-cruiser.cjs <folders>`.
 *
 * Paths are real paths from the repository root: `@mytho/broker` resolves through the workspace symlink to
 * broker/src/index.ts. TypeScript 7's `typescript` package has no compiler API for dependency-cruiser to parse with,
 * so it parses with swc (@swc/core), type-only imports included (tsPreCompilationDeps).
 */
const SERVICES = '(broker|ingest|api|web|devices-sim)'
const WORKSPACE = '(packages/[^/]+|broker|ingest|api|web|devices-sim|platform|deploy)'
const TEST_FILE = '(\\.test\\.ts$|\\.test-d\\.ts$|/test/)'

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-service-to-service',
      severity: 'error',
      comment:
        'Services meet on the MQTT bus (topics in packages/schema) and through shared packages, never by importing each ' +
        "other's code. Tests may import another service's package entry to stand up a real part; composition lives in platform/.",
      from: { path: `^${SERVICES}/`, pathNot: TEST_FILE },
      to: { path: `^${SERVICES}/`, pathNot: '^$1/' },
    },
    {
      name: 'no-relative-import-across-workspaces',
      severity: 'error',
      comment: 'Another workspace is reached through its package name and exports (`@mytho/api`), never by a relative path into its files.',
      from: { path: `^${WORKSPACE}/` },
      to: { dependencyTypes: ['local'], dependencyTypesNot: ['aliased-workspace'], path: `^${WORKSPACE}/`, pathNot: '^$1/' },
    },
    {
      name: 'web-imports-only-schema-and-browser-libraries',
      severity: 'error',
      comment: 'The map runs in the browser: no server code, no Node built-ins; of ours only packages/schema.',
      from: { path: '^web/src/', pathNot: TEST_FILE },
      to: { path: `^(packages/(?!schema/)[^/]+|broker|ingest|api|devices-sim|platform|deploy)/` },
    },
    {
      name: 'web-no-node-builtins',
      severity: 'error',
      comment: 'The map runs in the browser: a Node built-in there is server code.',
      from: { path: '^web/src/', pathNot: TEST_FILE },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'schema-imports-nothing-of-ours',
      severity: 'error',
      comment: 'packages/schema is the contract every part shares (and the map bundles): it depends on zod alone.',
      from: { path: '^packages/schema/' },
      to: { path: `^(packages/(?!schema/)[^/]+|broker|ingest|api|web|devices-sim|platform|deploy)/` },
    },
    {
      name: 'packages-never-import-services',
      severity: 'error',
      comment: 'Shared packages sit under the services; a package importing a service turns the layering upside down.',
      from: { path: '^packages/' },
      to: { path: '^(broker|ingest|api|web|devices-sim|platform|deploy)/' },
    },
    {
      name: 'broker-never-reads-storage',
      severity: 'error',
      comment: 'The broker authenticates and routes; readings reach storage through ingest only.',
      from: { path: '^broker/', pathNot: TEST_FILE },
      to: { path: '^packages/storage/' },
    },
    {
      name: 'simulator-speaks-only-mqtt',
      severity: 'error',
      comment: 'devices-sim is a fleet of devices: of ours it uses the contract (schema) and the runtime (config, logger).',
      from: { path: '^devices-sim/', pathNot: TEST_FILE },
      to: { path: `^(packages/(?!(schema|runtime)/)[^/]+)/` },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle makes two modules one; move the shared part into a module both import.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve (a deep import a package no longer exports, a moved file).',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts', '.json'],
      mainFields: ['module', 'main', 'types'],
    },
    skipAnalysisNotInRules: true,
  },
}
