import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import mqtt from 'mqtt'
import { describe, expect, it, onTestFinished } from 'vitest'
import { readDemoSecrets } from '@mytho/runtime'
import { readingsTopic } from '@mytho/schema'
import { makeTempDir, waitFor } from '@mytho/testing'

/*
 * Issue #20: `npm start` (platform/src/start-all.ts) runs the fast path, the ingest inside the broker, where a device's
 * QoS 1 PUBACK goes out only once its reading is stored. The separate topology (the ingest a persistent MQTT client,
 * the broker acknowledging once the reading sits in the ingest's queue) stays behind MYTHO_TOPOLOGY=separate.
 * Run as an operator starts it, with a clean environment (a demo start: the device's secret in DATA_DIR).
 */
const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const DEVICE = 'rg-thoi-son'

interface Started {
  stdout: string
  mqttUrl: string
  httpUrl: string
  /** SIGTERM, resolved with the exit code once the process is gone. */
  stop(): Promise<number | null>
}

interface Exited {
  code: number | null
  stderr: string
}

function spawnStart(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'platform/src/start-all.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'warn', MQTT_PORT: '0', MQTT_WS_PORT: 'off', HTTP_PORT: '0', START_SIMULATOR: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out = { stdout: '', stderr: '' }
  child.stdout.on('data', (b: Buffer) => (out.stdout += b.toString()))
  child.stderr.on('data', (b: Buffer) => (out.stderr += b.toString()))
  let exit: Exited | undefined
  const exited = new Promise<Exited>((resolve) =>
    child.once('exit', (code) => {
      exit = { code, stderr: out.stderr }
      resolve(exit)
    }),
  )
  onTestFinished(async () => {
    if (exit) return
    child.kill('SIGKILL')
    await exited
  })
  return { child, out, exited, exitedYet: () => exit }
}

async function npmStart(env: Record<string, string>): Promise<Started> {
  const p = spawnStart(env)
  await waitFor(
    () => {
      const exit = p.exitedYet()
      if (exit) throw new Error(`npm start exited (${exit.code}):\n${p.out.stdout}\n${exit.stderr}`)
      return /Ctrl\+C stops everything\./.test(p.out.stdout)
    },
    { timeoutMs: 60_000, what: 'npm start to print its banner' },
  )
  const mqttPort = /MQTT\s+mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(p.out.stdout)?.[1]
  const httpPort = /Map \+ API\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(p.out.stdout)?.[1]
  if (!mqttPort || !httpPort) throw new Error(`no MQTT or HTTP port in:\n${p.out.stdout}`)
  return {
    stdout: p.out.stdout,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    stop: async () => {
      if (!p.exitedYet()) p.child.kill('SIGTERM')
      return (await p.exited).code
    },
  }
}

/** Connects as the device with its demo secret and publishes one QoS 1 reading; resolves at its PUBACK. */
async function publishReading(dataDir: string, mqttUrl: string, ts: number): Promise<void> {
  const password = readDemoSecrets(dataDir)?.devices[DEVICE]
  expect(password, 'the demo secret of the device').toBeDefined()
  const c = await mqtt.connectAsync(mqttUrl, { clientId: DEVICE, username: DEVICE, password: password ?? '', reconnectPeriod: 0 })
  onTestFinished(() => void c.end(true))
  await c.publishAsync(readingsTopic(DEVICE), JSON.stringify({ kind: 'rain', ts, rainMm: 1.5 }), { qos: 1 })
  await c.endAsync()
}

/** The device's stored readings at `ts`, read from the SQLite file as the running platform left it. */
function storedAt(dataDir: string, ts: number): unknown[] {
  const db = new Database(join(dataDir, 'readings.sqlite'), { readonly: true })
  try {
    return db.prepare('SELECT device_id, ts FROM readings WHERE device_id = ? AND ts = ?').all(DEVICE, ts)
  } finally {
    db.close()
  }
}

describe('npm start runs the ingest inside the broker (issue #20)', { timeout: 120_000 }, () => {
  it("acknowledges a device's QoS 1 reading only once it is stored", async () => {
    const dir = makeTempDir('mytho-start-embedded-')
    onTestFinished(() => dir.cleanup())
    // The ingest holds a batch a full second: a broker that acknowledged on queueing (the separate topology) would
    // send the PUBACK a second before the row exists.
    const p = await npmStart({ DATA_DIR: dir.path, INGEST_BATCH_WAIT_MS: '1000' })
    expect(p.stdout).toMatch(/Ingest\s+inside the broker/)
    const ts = Date.now() - 60_000
    await publishReading(dir.path, p.mqttUrl, ts)
    expect(storedAt(dir.path, ts)).toEqual([{ device_id: DEVICE, ts }])
    // The in-process ingest's health reaches the API as the separate one's did (the map's pipeline banner reads it).
    const ready = await waitFor(
      async () => {
        const body = (await (await fetch(`${p.httpUrl}/api/v1/ready`)).json()) as { pipeline: { status: string } | null }
        return body.pipeline ?? undefined
      },
      { what: 'the pipeline health on /api/v1/ready' },
    )
    expect(ready.status).toBe('ok')
    expect(await p.stop()).toBe(0)
  })

  it('MYTHO_TOPOLOGY=separate runs the cluster topology: the broker acknowledges on queueing, the ingest stores later', async () => {
    const dir = makeTempDir('mytho-start-separate-')
    onTestFinished(() => dir.cleanup())
    // A batch held ten minutes: only the stop's flush stores it, so the PUBACK came before any row could exist.
    const p = await npmStart({ DATA_DIR: dir.path, MYTHO_TOPOLOGY: 'separate', INGEST_BATCH_WAIT_MS: '600000' })
    expect(p.stdout).toMatch(/Ingest\s+separate MQTT client/)
    const ts = Date.now() - 60_000
    await publishReading(dir.path, p.mqttUrl, ts)
    expect(storedAt(dir.path, ts)).toEqual([])
    expect(await p.stop()).toBe(0)
    expect(storedAt(dir.path, ts)).toEqual([{ device_id: DEVICE, ts }])
  })

  it('refuses an unknown MYTHO_TOPOLOGY, and a cluster variable on the embedded default, naming the variables', async () => {
    const dir = makeTempDir('mytho-start-topology-bad-')
    onTestFinished(() => dir.cleanup())
    const bad = await spawnStart({ DATA_DIR: dir.path, MYTHO_TOPOLOGY: 'cluster' }).exited
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/MYTHO_TOPOLOGY: expected embedded or separate/)

    const partitions = await spawnStart({ DATA_DIR: dir.path, INGEST_PARTITIONS: '4' }).exited
    expect(partitions.code).toBe(2)
    expect(partitions.stderr).toMatch(/INGEST_PARTITIONS: /)
    expect(partitions.stderr).toMatch(/MYTHO_TOPOLOGY: set separate/)
  })
})
