/*
 * CLI: the demo's device secrets, once, into a running platform (compose profile "demo": the one-shot `demo-seed`
 *   service; docs/operations.md). `DATA_DIR=/data node broker/dist/seed-demo.js` (`npx tsx broker/src/seed-demo.ts`)
 * Every registry device and service account without a credential gets a generated secret, exactly as the broker
 * does at its start with SEED_DEMO_SECRETS=true (seed-credentials.ts), written to the same credential store
 * (DATA_DIR/meta.sqlite, or Redis with REDIS_URL) and to DATA_DIR/secrets/demo-secrets.json for the simulator.
 *
 * Why a separate program rather than SEED_DEMO_SECRETS=true in compose: the broker's default must stay false (a
 * city's devices are provisioned by an admin), and a variable the demo needs but production must never have is
 * one forgotten .env line away from the wrong one. The broker reads the credential row at every CONNECT, so a
 * secret seeded while it runs is accepted at once, without a restart. Running it twice adds nothing.
 */
import { openCredentialsFromConfig } from '@mytho/directory'
import { configOrExit, createLogger, privateUmask } from '@mytho/runtime'
import { loadRegistryFile } from '@mytho/schema'
import { loadBrokerConfig } from './config.ts'
import { seedCredentials } from './seed-credentials.ts'

// meta.sqlite's journals and the demo secrets file: this user's alone, as the services' files.
privateUmask()
const config = configOrExit('seed-demo', () => loadBrokerConfig())
const logger = createLogger(config.LOG_LEVEL, { service: 'seed-demo' })
const credentials = openCredentialsFromConfig(config, { logger: logger.child({ part: 'credentials' }) })
try {
  const registry = loadRegistryFile(config.DEVICE_REGISTRY_FILE)
  // Service passwords are the broker's to write from its own environment: left as they are.
  const added = await seedCredentials(
    { dataDir: config.DATA_DIR, seedDemoSecrets: true, ingestPassword: undefined, apiPassword: undefined },
    registry,
    credentials,
    logger,
  )
  process.stdout.write(
    `seed-demo: demo secrets for ${added.devices} devices and ${added.services} service accounts (${registry.size} in the registry; DATA_DIR/secrets/demo-secrets.json)\n`,
  )
} catch (err) {
  process.stderr.write(`seed-demo: ${(err as Error).message}\n`)
  process.exitCode = 1
} finally {
  await credentials.close()
}
