import { configOrExit, createLogger, readDemoSecrets, runMain } from '@mytho/runtime'
import { loadRegistryFile } from '@mytho/schema'
import { backfill } from './backfill.ts'
import { helpText, parseCliArgs } from './cli-help.ts'
import { loadSimConfig } from './config.ts'
import { syntheticFleet } from './load/fleet.ts'
import { runLoad } from './load/run-load.ts'
import { writeFleet } from './load/write-fleet.ts'
import { scenarioSetup } from './run-scenario.ts'
import { runScript } from './scenarios/script.ts'
import { createSimulator } from './simulator.ts'

const args = configOrExit('devices-sim', () => parseCliArgs(process.argv.slice(2)))
if (args.help) {
  process.stdout.write(helpText())
  process.exit(0)
}
const rawEnv = { ...process.env, ...args.env }
const config = configOrExit('devices-sim', () => loadSimConfig(rawEnv))
const logger = createLogger(config.LOG_LEVEL, { service: 'devices-sim' })

if (args.writeFleet !== undefined) {
  const written = writeFleet(args.writeFleet, args.load.devices, config.SIM_SEED)
  process.stdout.write(`${JSON.stringify(written)}\n`)
  process.exit(0)
}

if (config.SIM_SCENARIO === 'load') {
  // A registry file (say, from --write-fleet) gives the devices and their secrets; else synthetic ids, anonymous or not.
  const fleet = config.DEVICE_REGISTRY_FILE ? loadRegistryFile(config.DEVICE_REGISTRY_FILE).devices : syntheticFleet(args.load.devices, config.SIM_SEED)
  const secrets = args.anonymous ? undefined : readDemoSecrets(config.DATA_DIR)?.devices
  const abort = new AbortController()
  process.once('SIGINT', () => abort.abort())
  process.once('SIGTERM', () => abort.abort())
  const summary = await runLoad(
    { ...config, anonymous: args.anonymous, SIM_DEVICES: 'all' },
    fleet,
    { ratePerS: args.load.rate, durationS: args.load.durationS, progress: (line) => process.stderr.write(`${line}\n`) },
    { logger, signal: abort.signal, ...(secrets ? { secrets } : {}) },
  )
  process.stdout.write(`${JSON.stringify(summary)}\n`)
  process.exit(summary.connected === summary.devices ? 0 : 1)
}

const registry = loadRegistryFile(config.DEVICE_REGISTRY_FILE)
const speedGiven = rawEnv['SIM_SPEED'] !== undefined && rawEnv['SIM_SPEED'].trim() !== ''
const { scenario, config: simConfig } = scenarioSetup(config, registry.devices, { speedGiven })
if (args.expectations) {
  const { adjust: _a, ...shown } = scenario
  process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`)
  process.exit(0)
}

const simulator = createSimulator(simConfig, { registry, logger })
let cancelScript = () => {}
await runMain(
  'devices-sim',
  logger,
  () => ({
    async start() {
      if (config.SIM_BACKFILL_HOURS > 0) {
        const secrets = readDemoSecrets(config.DATA_DIR)?.devices
        if (!secrets) logger.warn('no demo secrets yet: backfill skipped', { dataDir: config.DATA_DIR })
        else {
          const now = Date.now()
          const ids = simConfig.SIM_DEVICES === 'all' ? undefined : new Set(simConfig.SIM_DEVICES)
          await backfill({
            url: config.MQTT_URL,
            devices: registry.devices.filter((d) => !ids || ids.has(d.id)),
            seed: config.SIM_SEED,
            fromMs: now - config.SIM_BACKFILL_HOURS * 3_600_000,
            toMs: now,
            password: (id) => secrets[id],
            logger,
          })
        }
      }
      const started = await simulator.start()
      if (scenario.name === 'sensor-faults') cancelScript = runScript(simulator, scenario.script, logger)
      return started
    },
    async stop() {
      cancelScript()
      await simulator.stop()
    },
  }),
  ({ devices }) =>
    logger.info('devices live', {
      scenario: scenario.name,
      summary: scenario.summary,
      live: devices,
      of: simulator.stats.devices,
      mqtt: config.MQTT_URL,
      speed: simConfig.SIM_SPEED,
      seed: config.SIM_SEED,
      ...('expectations' in scenario ? { expectations: scenario.expectations.length, first: scenario.expectations[0] } : {}),
    }),
)
