import { configOrExit, createLogger, runMain } from '@mytho/runtime'
import { createBroker } from './broker.ts'
import { loadBrokerConfig } from './config.ts'

const config = configOrExit('broker', () => loadBrokerConfig(process.env))
const logger = createLogger(config.LOG_LEVEL, { service: 'broker' })

await runMain(
  'broker',
  logger,
  () => createBroker(config, { logger }),
  ({ mqttPort, wsPort }) => {
    const host = config.MQTT_HOST === '0.0.0.0' ? 'localhost' : config.MQTT_HOST
    process.stdout.write(`broker: MQTT mqtt://${host}:${mqttPort}  WebSocket ${wsPort === undefined ? 'off' : `ws://${host}:${wsPort}/mqtt`}\n`)
  },
)
