import { defineConfig } from 'vitest/config'

const project = (name: string, root: string) => ({
  extends: true as const,
  test: { name, include: [`${root}/**/*.test.ts`], exclude: ['**/node_modules/**'] },
})

export default defineConfig({
  test: {
    globalSetup: ['packages/testing/src/global-setup.ts'],
    // A test fails when it writes to the console, unless it calls allowConsoleOutput() (@mytho/testing).
    setupFiles: ['packages/testing/src/console-guard-setup.ts'],
    // Integration tests start real processes (influxd, brokers); two cores, so run files two at a time.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './packages/testing/src/summary-reporter.ts'],
    projects: [
      project('schema', 'packages/schema'),
      project('runtime', 'packages/runtime'),
      project('storage', 'packages/storage'),
      project('alerts', 'packages/alerts'),
      project('directory', 'packages/directory'),
      project('testing', 'packages/testing'),
      project('broker', 'broker'),
      project('ingest', 'ingest'),
      project('api', 'api'),
      project('web', 'web'),
      project('devices-sim', 'devices-sim'),
      project('deploy', 'deploy'),
      project('platform', 'platform'),
    ],
  },
})
