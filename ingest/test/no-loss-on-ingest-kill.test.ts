import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSqliteStore, type ReadingStore } from '@mytho/storage'
import { waitFor } from '@mytho/testing'
import { connectDevice, publishReading, startBroker } from './pipeline.ts'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/** Runs the real ingest entry point as its own process, so it can be killed with SIGKILL. */
function spawnIngest(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<void> } {
  let out = ''
  const child = spawn(process.execPath, ['--import', 'tsx', 'ingest/src/main.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()))
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return { child, output: () => out, exited }
}

describe('ingest killed between receive and write', () => {
  let pipeline: Awaited<ReturnType<typeof startBroker>>
  let store: ReadingStore
  const children: ChildProcess[] = []

  beforeAll(async () => {
    pipeline = await startBroker()
    store = createSqliteStore({ path: join(pipeline.dataDir, 'readings.sqlite') })
    await store.init()
  })
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL')
    await store?.close()
    await pipeline?.cleanup()
  })

  it('stores the reading exactly once after a restart', async () => {
    const env = { MQTT_URL: pipeline.mqttUrl, DATA_DIR: pipeline.dataDir }
    // A batch window far longer than the test: the reading is received and held, never written.
    const first = spawnIngest({ ...env, INGEST_BATCH_WAIT_MS: '600000' })
    children.push(first.child)
    await waitFor(() => first.output().includes('ingest subscribed'), { timeoutMs: 20_000, what: 'first ingest to subscribe' })

    const id = 'aq-cho-my-tho'
    const device = await connectDevice(pipeline.mqttUrl, id, pipeline.secrets.devices[id]!)
    const ts = Date.now() - 2000
    await publishReading(device, id, { kind: 'air_quality', ts, pm25UgM3: 38.2 })
    await waitFor(() => first.output().includes('"msg":"received"'), { what: 'ingest to receive the reading' })

    first.child.kill('SIGKILL')
    await first.exited
    expect(await store.latest([id])).toEqual([])

    const second = spawnIngest({ ...env, INGEST_BATCH_WAIT_MS: '10' })
    children.push(second.child)
    const [stored] = await waitFor(
      async () => {
        const l = await store.latest([id])
        return l.length ? l : undefined
      },
      { timeoutMs: 20_000, what: 'the redelivered reading to be stored' },
    )
    expect(stored).toMatchObject({ deviceId: id, ts, fields: { pm25UgM3: 38.2 } })

    // Redelivered once more would still be one point; and no second copy appears.
    const series = await store.history({ deviceIds: [id], metric: 'pm25UgM3', from: ts - 1, to: ts + 1, window: 'raw' })
    expect(series[0]?.points).toHaveLength(1)
    second.child.kill('SIGTERM')
    await second.exited
    await device.endAsync()
  })
})
