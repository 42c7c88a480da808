import { createBroker, loadBrokerConfig, type Broker } from '@mytho/broker'
import { loadRegistryFile } from '@mytho/schema'
import { readDemoSecrets, silentLogger, type DemoSecrets } from '@mytho/runtime'
import type { ReadingStore } from '@mytho/storage'
import { makeTempDir } from '@mytho/testing'
import { loadIngestConfig } from '../src/config.ts'
import { createIngest, type Ingest } from '../src/ingest.ts'

/** A real broker on port 0 with the seed fleet's generated credentials, in a temp DATA_DIR. */
export async function startBroker(
  dataDir?: string,
): Promise<{ broker: Broker; mqttUrl: string; port: number; dataDir: string; secrets: DemoSecrets; cleanup(): Promise<void> }> {
  const tmp = dataDir ? undefined : makeTempDir('mytho-pipeline-')
  const dir = dataDir ?? tmp!.path
  const broker = await createBroker(loadBrokerConfig({ DATA_DIR: dir, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off' }), { logger: silentLogger })
  const { mqttPort } = await broker.start()
  const secrets = readDemoSecrets(dir)
  if (!secrets) throw new Error('broker did not write demo secrets')
  return {
    broker,
    port: mqttPort,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    dataDir: dir,
    secrets,
    cleanup: async () => {
      await broker.stop()
      tmp?.cleanup()
    },
  }
}

export function ingestConfig(mqttUrl: string, dataDir: string, extra: Record<string, string> = {}) {
  return loadIngestConfig({ MQTT_URL: mqttUrl, DATA_DIR: dataDir, INGEST_BATCH_WAIT_MS: '10', ...extra })
}

export function startIngest(store: ReadingStore, mqttUrl: string, dataDir: string, extra: Record<string, string> = {}): Ingest {
  return createIngest(ingestConfig(mqttUrl, dataDir, extra), { store, registry: loadRegistryFile(), logger: silentLogger })
}

export { connectDevice, publishReading } from '@mytho/testing'
