import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { describe, expect, it, onTestFinished } from 'vitest'
import mqtt from 'mqtt'
import { readDemoSecrets } from '@mytho/runtime'
import { readingsTopic, statusTopic, type DeviceView } from '@mytho/schema'
import { makeTempDir, waitFor } from '@mytho/testing'

/*
 * Issue #17, finding 5: a clean stop of `npm start` raised device-silent for every simulated device (the simulator's
 * goodbye said `offline`, which the engine takes for a Last Will, and that retained `offline` came back at the next
 * start). `npm start` (platform/src/start-all.ts) runs here as an operator starts it, stopped with SIGTERM (Ctrl+C's
 * clean path) and started again on the same DATA_DIR.
 */
const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const devices = ['rg-my-tho', 'aq-my-tho', 'wl-hydro-station']

interface Platform {
  httpUrl: string
  mqttUrl: string
  /** SIGTERM, resolved with the exit code once the process is gone. */
  stop(): Promise<number | null>
}

async function npmStart(dataDir: string, env: Record<string, string> = {}): Promise<Platform> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'platform/src/start-all.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env['PATH'] ?? '',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
      MQTT_PORT: '0',
      MQTT_WS_PORT: 'off',
      HTTP_PORT: '0',
      SIM_DEVICES: devices.join(','),
      SIM_SPEED: '60',
      SIM_BACKFILL_HOURS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let exit: { code: number | null } | undefined
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exit = { code }
      resolve(code)
    }),
  )
  onTestFinished(async () => {
    if (exit) return
    child.kill('SIGKILL')
    await exited
  })
  await waitFor(
    () => {
      if (exit) throw new Error(`npm start exited (${exit.code}):\n${stdout}\n${stderr}`)
      return /Ctrl\+C stops everything\./.test(stdout)
    },
    { timeoutMs: 60_000, what: 'npm start to print its banner' },
  )
  const port = /Map \+ API\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout)?.[1]
  if (!port) throw new Error(`no HTTP port in:\n${stdout}`)
  const mqttPort = /MQTT\s+mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]
  return {
    httpUrl: `http://127.0.0.1:${port}`,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    stop: () => {
      if (!exit) child.kill('SIGTERM')
      return exited
    },
  }
}

/** Waits until every simulated device is connected and has a reading stored after `since`. */
async function allReporting(p: Platform, since: number, ids: readonly string[] = devices): Promise<void> {
  await waitFor(
    async () => {
      const list = (await (await fetch(`${p.httpUrl}/api/v1/devices`)).json()) as DeviceView[]
      return ids.every((id) => {
        const d = list.find((x) => x.id === id)
        return d?.connection === 'online' && d.lastSeen !== null && d.lastSeen > since
      })
    },
    { timeoutMs: 60_000, what: 'every simulated device online with a fresh reading' },
  )
}

describe('a planned restart of npm start is no incident (issue #17, finding 5)', { timeout: 240_000 }, () => {
  it('stopped cleanly and started again, the platform with its simulator raises no device-silent incident', async () => {
    const dir = makeTempDir('mytho-planned-restart-')
    onTestFinished(() => dir.cleanup())

    const first = await npmStart(dir.path)
    await allReporting(first, 0)
    expect(await first.stop()).toBe(0)

    const restartedAt = Date.now()
    const second = await npmStart(dir.path)
    // Fresh readings after the start: by then the retained statuses of the stop have long been read by the engine.
    await allReporting(second, restartedAt)
    expect(await second.stop()).toBe(0)

    const db = new Database(join(dir.path, 'alerts.sqlite'), { readonly: true })
    onTestFinished(() => void db.close())
    const silent = db.prepare(`SELECT id, subject, state FROM incidents WHERE rule_id = 'device-silent'`).all()
    expect(silent).toEqual([])
  })

  it("a device of the city's own fleet, cut off by the platform's own stop (its Will fired by the broker), is no incident after the restart", async () => {
    const dir = makeTempDir('mytho-planned-restart-fleet-')
    onTestFinished(() => dir.cleanup())
    const id = 'rg-thoi-son'
    /** A real device: its own credentials, a retained Last Will `offline`, `online` and a reading on connect. */
    const device = async (p: Platform) => {
      const password = readDemoSecrets(dir.path)?.devices[id]
      const c = await mqtt.connectAsync(p.mqttUrl, {
        clientId: id,
        username: id,
        ...(password !== undefined ? { password } : {}),
        reconnectPeriod: 0,
        will: { topic: statusTopic(id), payload: Buffer.from('offline'), qos: 1, retain: true },
      })
      c.on('error', () => {}) // the platform going away under it is the point
      await c.publishAsync(statusTopic(id), 'online', { qos: 1, retain: true })
      await c.publishAsync(readingsTopic(id), JSON.stringify({ kind: 'rain', ts: Date.now(), rainMm: 0 }), { qos: 1 })
      return c
    }

    const first = await npmStart(dir.path, { START_SIMULATOR: 'false' })
    const before = await device(first)
    onTestFinished(() => void before.end(true))
    await allReporting(first, 0, [id])
    // Still connected as the platform stops: the broker's stop publishes its Will, retained for the next start.
    expect(await first.stop()).toBe(0)

    const restartedAt = Date.now()
    const second = await npmStart(dir.path, { START_SIMULATOR: 'false' })
    const after = await device(second)
    onTestFinished(() => void after.end(true))
    await allReporting(second, restartedAt, [id])
    await after.endAsync()
    expect(await second.stop()).toBe(0)

    const db = new Database(join(dir.path, 'alerts.sqlite'), { readonly: true })
    onTestFinished(() => void db.close())
    expect(db.prepare(`SELECT id, subject, state FROM incidents WHERE rule_id = 'device-silent'`).all()).toEqual([])
  })
})
