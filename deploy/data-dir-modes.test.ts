import { spawn } from 'node:child_process'
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { DemoSecrets } from '@mytho/runtime'
import { makeTempDir, waitFor } from '@mytho/testing'

/*
 * DATA_DIR holds credential hashes, operators, sessions and the audit log (meta.sqlite), incidents, spools, readings
 * and the broker's sessions (LevelDB): a real entry point, started as `node --import tsx <entry>` the way the image
 * and compose start it, must leave nothing in it that another user of the host can read (files 0600, folders 0700),
 * also when an older version left the folder 0755 and its files 0644. The child runs under `umask 022` (the usual
 * default), so what is checked is what the service does, not what the test runner's shell happened to set.
 */
const root = fileURLToPath(new URL('..', import.meta.url))

interface Entry {
  output: () => string
  /** SIGTERM, then resolves with the exit code once the process is gone. */
  stop: () => Promise<number | string | null>
}

async function startEntry(entry: string, env: Record<string, string>, banner: RegExp): Promise<Entry> {
  const child = spawn('/bin/sh', ['-c', 'umask 022 && exec "$0" "$@"', process.execPath, '--import', 'tsx', entry], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  onTestFinished(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')))
  let output = ''
  child.stdout.on('data', (b: Buffer) => (output += b.toString()))
  child.stderr.on('data', (b: Buffer) => (output += b.toString()))
  let code: number | null | undefined
  let signal: NodeJS.Signals | null = null
  child.once('exit', (c, s) => {
    signal = s
    code = c
  })
  await waitFor(
    () => {
      if (code !== undefined) throw new Error(`${entry} exited (${code ?? signal}):\n${output}`)
      return banner.test(output)
    },
    { timeoutMs: 60_000, what: `${entry} banner ${banner}` },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${entry} output:\n${output}`)
  })
  return {
    output: () => output,
    stop: async () => {
      if (code === undefined) child.kill('SIGTERM')
      // A death by signal reads as the signal's name, so a failure says which.
      return (await waitFor(() => (code !== undefined ? { code: code ?? signal } : undefined), { timeoutMs: 20_000, what: `${entry} to exit` })).code
    },
  }
}

/** Every entry under dir (dir itself first) with its permission bits, e.g. `0600 meta.sqlite`; symbolic links left out. */
function modes(dir: string): { path: string; dir: boolean; mode: string }[] {
  const out: { path: string; dir: boolean; mode: string }[] = []
  const visit = (abs: string, rel: string) => {
    const st = lstatSync(abs)
    if (st.isSymbolicLink()) return
    out.push({ path: rel, dir: st.isDirectory(), mode: (st.mode & 0o777).toString(8).padStart(4, '0') })
    if (st.isDirectory()) for (const name of readdirSync(abs)) visit(join(abs, name), rel === '.' ? name : `${rel}/${name}`)
  }
  visit(dir, '.')
  return out
}

/** The entries whose mode is not 0700 (folders) or 0600 (files): empty when DATA_DIR is private. */
const notPrivate = (dir: string) => modes(dir).filter((e) => e.mode !== (e.dir ? '0700' : '0600'))

// Two real processes with scrypt-hashed credentials to seed: slow on a loaded two-core machine.
describe('DATA_DIR is private to the service user', { timeout: 120_000 }, () => {
  it('the broker entry point creates DATA_DIR 0700 and meta.sqlite, its journals, the LevelDB sessions and the secrets 0600', async () => {
    const tmp = makeTempDir('mytho-modes-')
    onTestFinished(tmp.cleanup)
    const dataDir = join(tmp.path, 'data')
    const broker = await startEntry('broker/src/main.ts', { DATA_DIR: dataDir, MQTT_PORT: '0', MQTT_WS_PORT: '0' }, /broker: MQTT mqtt:\/\/\S+:\d+/)
    expect(await broker.stop(), broker.output()).toBe(0)

    const found = modes(dataDir).map((e) => e.path)
    for (const expected of ['.', 'meta.sqlite', 'broker-sessions', 'broker-sessions/CURRENT', 'secrets/demo-secrets.json']) expect(found).toContain(expected)
    expect(notPrivate(dataDir)).toEqual([])
  })

  it('the API entry point tightens a DATA_DIR an older version left 0755/0644 and creates meta.sqlite, alerts.sqlite and readings.sqlite 0600', async () => {
    const tmp = makeTempDir('mytho-modes-')
    onTestFinished(tmp.cleanup)
    // The API's live feed waits for a broker: one with its own DATA_DIR, whose demo secrets give the API its password.
    const brokerDir = join(tmp.path, 'broker-data')
    const broker = await startEntry('broker/src/main.ts', { DATA_DIR: brokerDir, MQTT_PORT: '0', MQTT_WS_PORT: '0' }, /broker: MQTT mqtt:\/\/\S+:\d+/)
    onTestFinished(async () => void (await broker.stop()))
    const mqttPort = /broker: MQTT mqtt:\/\/\S+:(\d+)/.exec(broker.output())![1]!
    const secrets = DemoSecrets.parse(JSON.parse(readFileSync(join(brokerDir, 'secrets', 'demo-secrets.json'), 'utf8')))

    // What an older version left behind: the folder, a file, a sub-folder and a file in it, all readable by others.
    const dataDir = join(tmp.path, 'api-data')
    mkdirSync(join(dataDir, 'exports'), { recursive: true })
    writeFileSync(join(dataDir, 'dead-letters.log'), 'old\n')
    writeFileSync(join(dataDir, 'exports', 'audit.csv'), 'old\n')
    chmodSync(join(dataDir, 'dead-letters.log'), 0o644)
    chmodSync(join(dataDir, 'exports', 'audit.csv'), 0o644)
    chmodSync(join(dataDir, 'exports'), 0o755)
    chmodSync(dataDir, 0o755)
    expect(
      notPrivate(dataDir)
        .map((e) => e.path)
        .sort(),
    ).toEqual(['.', 'dead-letters.log', 'exports', 'exports/audit.csv'])

    const api = await startEntry(
      'api/src/main.ts',
      {
        DATA_DIR: dataDir,
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
        API_MQTT_PASSWORD: secrets.services['svc-api']!,
        ADMIN_PASSWORD: 'Tôm-càng-xanh-2026-Mỹ-Tho',
      },
      /api: map and API on http:\/\/\S+:\d+\//,
    )
    expect(await api.stop(), api.output()).toBe(0)
    expect(await broker.stop(), broker.output()).toBe(0)

    for (const file of ['meta.sqlite', 'alerts.sqlite', 'readings.sqlite']) expect(existsSync(join(dataDir, file)), file).toBe(true)
    expect(notPrivate(dataDir)).toEqual([])
    expect(notPrivate(brokerDir)).toEqual([])
    // One JSON log line says so, with the count (field order is the logger's business).
    const line = api
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; tightened?: number })
      .find((l) => l.msg === 'DATA_DIR tightened')
    expect(line?.tightened).toBe(4)
  })
})
