// First: the libraries' debug loggers are made when they load (packages/runtime/src/debug-off.ts says why).
import '@mytho/runtime/debug-off'
import { configOrExit, createLogger, runMain, withMetrics } from '@mytho/runtime'
import { createBroker } from './broker.ts'
import { checkTlsPair, loadBrokerConfig } from './config.ts'
import { registerBrokerMetrics } from './metrics.ts'

const config = configOrExit('broker', () => {
  const c = loadBrokerConfig(process.env)
  checkTlsPair(c)
  return c
})
const logger = createLogger(config.LOG_LEVEL, { service: 'broker' })

await runMain(
  'broker',
  logger,
  async () => {
    const broker = await createBroker(config, { logger })
    return withMetrics('broker', config, broker, (r) => registerBrokerMetrics(r, broker))
  },
  ({ mqttPort, wsPort, tlsPort, internalPort }) => {
    const host = config.MQTT_HOST === '0.0.0.0' ? 'localhost' : config.MQTT_HOST
    process.stdout.write(
      `broker: MQTT mqtt://${host}:${mqttPort}  WebSocket ${wsPort === undefined ? 'off' : `ws://${host}:${wsPort}/mqtt`}${tlsPort === undefined ? '' : `  TLS mqtts://${host}:${tlsPort}`}${internalPort === undefined ? '' : `  services mqtt://${config.MQTT_INTERNAL_HOST}:${internalPort}`}\n`,
    )
  },
  { dataDir: config.DATA_DIR },
)
