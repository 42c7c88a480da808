/*
 * Broker heap per idle connection, after full GCs:  node --expose-gc --import tsx platform/bench/mem-inproc.ts [level|memory] [heap.heapsnapshot]
 * The broker runs in this process and 5,000 MQTT.js connections in a worker thread (its own heap), so the main
 * heap's growth is the broker's alone. RSS per connection is in `npm run bench` (BENCH_ONLY=connections).
 */
import { Worker } from 'node:worker_threads'
import { writeHeapSnapshot } from 'node:v8'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { makeTempDir } from '@mytho/testing'

const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with node --expose-gc')
const heapMiB = (label: string) => {
  gc()
  gc()
  const m = process.memoryUsage()
  process.stdout.write(`${label}: heapUsed ${(m.heapUsed / 2 ** 20).toFixed(1)} MiB, rss ${(m.rss / 2 ** 20).toFixed(1)} MiB\n`)
  return m.heapUsed
}

const n = 5000
const tmp = makeTempDir('mytho-mem-')
const config = loadBrokerConfig({
  DATA_DIR: tmp.path,
  MQTT_PORT: '0',
  MQTT_HOST: '127.0.0.1',
  MQTT_WS_PORT: 'off',
  MQTT_ALLOW_ANONYMOUS: 'true',
  MQTT_PERSISTENCE: process.argv[2] ?? 'level',
  LOG_LEVEL: 'warn',
})
const broker = await createBroker(config)
const { mqttPort } = await broker.start()
const before = heapMiB('broker started')
const worker = new Worker(
  `import mqtt from 'mqtt'; import { parentPort } from 'node:worker_threads'
  const clients = []
  for (let i = 0; i < ${n}; i += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => mqtt.connectAsync('mqtt://127.0.0.1:${mqttPort}', { clientId: 'mem-' + (i + k), reconnectPeriod: 0, keepalive: 300 }).then((c) => clients.push(c))))
  parentPort.postMessage('connected')`,
  { eval: true },
)
await new Promise((resolve) => worker.once('message', resolve))
await new Promise((resolve) => setTimeout(resolve, 1000))
const after = heapMiB(`${n} connections`)
process.stdout.write(`broker heap per connection: ${((after - before) / n / 1024).toFixed(2)} KiB\n`)
if (process.argv[3]) writeHeapSnapshot(process.argv[3])
await worker.terminate()
await broker.stop()
tmp.cleanup()
