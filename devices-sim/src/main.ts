import { configOrExit, createLogger, runMain } from '@mytho/runtime'
import { helpText, parseCliArgs } from './cli-help.ts'
import { loadSimConfig } from './config.ts'
import { createSimulator } from './simulator.ts'

const args = configOrExit('devices-sim', () => parseCliArgs(process.argv.slice(2)))
if (args.help) {
  process.stdout.write(helpText())
  process.exit(0)
}

const config = configOrExit('devices-sim', () => loadSimConfig())
const logger = createLogger(config.LOG_LEVEL, { service: 'devices-sim' })
const simulator = createSimulator(config, { logger })

await runMain('devices-sim', logger, () => simulator, ({ devices }) =>
  logger.info('devices live', { live: devices, of: simulator.stats.devices, mqtt: config.MQTT_URL, speed: config.SIM_SPEED, seed: config.SIM_SEED }),
)
