// First: the libraries' debug loggers are made when they load (packages/runtime/src/debug-off.ts says why).
import '@mytho/runtime/debug-off'
import { configOrExit, createLogger, privateUmask, readDemoSecrets, runMain } from '@mytho/runtime'
import { loadRegistryFile } from '@mytho/schema'
import { backfillRecent } from './backfill.ts'
import { helpText, parseCliArgs } from './cli-help.ts'
import { loadSimConfig } from './config.ts'
import { syntheticFleet } from './load/fleet.ts'
import { runLoad } from './load/run-load.ts'
import { writeFleet } from './load/write-fleet.ts'
import { scenarioSetup } from './run-scenario.ts'
import { runScript } from './scenarios/script.ts'
import { createSimulator } from './simulator.ts'

// --write-fleet writes a DATA_DIR (device secrets) before runMain would: private from the first file on.
privateUmask()
const args = configOrExit('devices-sim', () => parseCliArgs(process.argv.slice(2)))
if (args.help) {
  process.stdout.write(helpText())
  process.exit(0)
}
const config = configOrExit('devices-sim', () => loadSimConfig({ ...process.env, ...args.env }))
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
if (args.expectations) {
  const { adjust: _a, ...shown } = scenarioSetup(config, registry.devices).scenario
  process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`)
  process.exit(0)
}

const simulator = createSimulator(config, { registry, logger })
const scenario = simulator.scenario!
let cancelScript = () => {}
await runMain(
  'devices-sim',
  logger,
  () => ({
    async start() {
      // History first, so charts are not empty; idempotent, so every start may do it.
      await backfillRecent({ ...config, SIM_DEVICES: simulator.config.SIM_DEVICES }, { registry, logger })
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
      speed: simulator.config.SIM_SPEED,
      seed: config.SIM_SEED,
      ...('expectations' in scenario ? { expectations: scenario.expectations.length, first: scenario.expectations[0] } : {}),
    }),
)
