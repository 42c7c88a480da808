import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { silentLogger } from '@mytho/runtime'
import { makeTempDir, waitFor } from '@mytho/testing'

/*
 * The demo entry points without sign-in (issue #15): `npm start` (platform/src/start-all.ts) and `npm start -w api` with
 * AUTH_DISABLED=true listen on 127.0.0.1 unless HTTP_HOST / MQTT_HOST say otherwise, and say so loudly when they do.
 * Each runs as its own process, as an operator starts it, with a clean environment (no NODE_ENV: a demo start).
 */
const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/**
 * The local addresses the kernel has a listening TCP socket on for `port` (/proc/net/tcp and tcp6, state 0A = LISTEN):
 * what a stranger on the network could reach, read without sending a packet anywhere but loopback (tests reach
 * nothing else).
 */
function listeningOn(port: number): string[] {
  const found: string[] = []
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/)
      if (state !== '0A' || local === undefined) continue
      const [hex = '', portHex = ''] = local.split(':')
      if (parseInt(portHex, 16) !== port) continue
      found.push(
        hex.length === 8 ? [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.') : hex === '0'.repeat(32) ? '::' : `ipv6:${hex}`,
      )
    }
  }
  return found.sort()
}

type LogLine = { level: string; msg: string; [k: string]: unknown }

interface Running {
  stdout: () => string
  /** The first JSON log line (stderr) that `match` accepts, waited for: stderr is a separate pipe from the banner's. */
  log: (match: (l: LogLine) => boolean) => Promise<LogLine>
}

/** Starts `entry` with only `env` (and PATH); resolves once `ready` shows on stdout; killed when the test ends. */
async function run(entry: string, env: Record<string, string>, ready: RegExp): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let exit: string | undefined
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
  child.once('exit', (code, signal) => (exit = `exited (${code ?? signal})`))
  onTestFinished(async () => {
    if (exit !== undefined) return
    const gone = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await gone
  })
  await waitFor(
    () => {
      if (exit !== undefined && !ready.test(stdout)) throw new Error(`${entry} ${exit}:\n${stdout}\n${stderr}`)
      return ready.test(stdout)
    },
    { timeoutMs: 45_000, what: `${entry} to print its banner` },
  )
  const log = (match: (l: LogLine) => boolean) => waitFor(() => logLines(stderr).find(match), { what: `a log line of ${entry}` })
  return { stdout: () => stdout, log }
}

/** 'connected', or the error code of the refusal (ECONNREFUSED). */
const tryConnect = (host: string, port: number): Promise<string> =>
  new Promise((resolve) => {
    const s = connect({ host, port })
    s.once('connect', () => {
      s.destroy()
      resolve('connected')
    })
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })

const portIn = (text: string, re: RegExp): number => {
  const m = re.exec(text)
  if (!m) throw new Error(`${re} not in:\n${text}`)
  return Number(m[1])
}

/** JSON log lines of a service (stderr), parsed. */
const logLines = (stderr: string): LogLine[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as LogLine)

const demoEnv = (dataDir: string) => ({ DATA_DIR: dataDir, MQTT_PORT: '0', MQTT_WS_PORT: '0', HTTP_PORT: '0', START_SIMULATOR: 'false' })
const READY = /Ctrl\+C stops everything\./

describe('npm start is local by default (platform/src/start-all.ts, issue #15)', { timeout: 90_000 }, () => {
  it('listens for HTTP, MQTT and MQTT over WebSocket on 127.0.0.1 only, and says so in the banner', async () => {
    const dir = makeTempDir('mytho-start-local-')
    onTestFinished(() => dir.cleanup())
    const p = await run('platform/src/start-all.ts', demoEnv(dir.path), READY)
    const banner = p.stdout()
    const http = portIn(banner, /Map \+ API\s+http:\/\/127\.0\.0\.1:(\d+)\//)
    const mqtt = portIn(banner, /MQTT\s+mqtt:\/\/127\.0\.0\.1:(\d+)/)
    const ws = portIn(banner, /WebSocket ws:\/\/127\.0\.0\.1:(\d+)\/mqtt/)
    // port 0 in, the bound ports out
    for (const port of [http, mqtt, ws]) expect(port).toBeGreaterThan(0)
    expect(banner).toMatch(/127\.0\.0\.1 only/)
    expect(banner).not.toContain('WARNING')
    expect(banner).not.toContain('\x1b[') // not a terminal: no colour codes in a log
    expect(await p.log((l) => l.msg === 'broker listening')).toMatchObject({ host: '127.0.0.1', mqttPort: mqtt, wsPort: ws })

    const res = await fetch(`http://127.0.0.1:${http}/api/v1/devices`)
    expect(res.status).toBe(200)
    expect(await tryConnect('127.0.0.1', mqtt)).toBe('connected')
    expect(await tryConnect('127.0.0.1', ws)).toBe('connected')
    // Bound to loopback alone: nobody on the network can reach them.
    for (const port of [http, mqtt, ws]) expect(listeningOn(port), `port ${port}`).toEqual(['127.0.0.1'])
  })

  it('HTTP_HOST=0.0.0.0 set explicitly: the map is on the network, the banner and the log warn in words; MQTT stays local', async () => {
    const dir = makeTempDir('mytho-start-open-')
    onTestFinished(() => dir.cleanup())
    const p = await run('platform/src/start-all.ts', { ...demoEnv(dir.path), HTTP_HOST: '0.0.0.0' }, READY)
    const banner = p.stdout()
    const http = portIn(banner, /Map \+ API\s+http:\/\/localhost:(\d+)\//)
    const mqtt = portIn(banner, /MQTT\s+mqtt:\/\/127\.0\.0\.1:(\d+)/)
    expect(banner).toContain('CẢNH BÁO / WARNING')
    expect(banner).toMatch(/sign-in is disabled and the map is reachable from the network at /)
    expect(banner).toContain('HTTP_HOST')
    expect(banner).not.toContain('\x1b[')
    expect(await p.log((l) => l.level === 'warn' && /reachable from the network/.test(l.msg))).toMatchObject({ host: '0.0.0.0' })
    expect((await fetch(`http://127.0.0.1:${http}/api/v1/devices`)).status).toBe(200)
    expect(listeningOn(http).some((a) => a === '0.0.0.0' || a === '::')).toBe(true)
    expect(listeningOn(mqtt)).toEqual(['127.0.0.1'])
  })
})

describe('npm start -w api with AUTH_DISABLED=true is local by default (api/src/main.ts, issue #15)', { timeout: 90_000 }, () => {
  /** The API's live feed waits for its broker: one in this process, on loopback, sharing the DATA_DIR (demo secrets). */
  async function withBroker() {
    const dir = makeTempDir('mytho-api-local-')
    const broker = await createBroker(
      loadBrokerConfig({ DATA_DIR: dir.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off', MQTT_PERSISTENCE: 'memory' }),
      { logger: silentLogger },
    )
    const { mqttPort } = await broker.start()
    onTestFinished(async () => {
      await broker.stop()
      dir.cleanup()
    })
    return { DATA_DIR: dir.path, MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`, AUTH_DISABLED: 'true', HTTP_PORT: '0' }
  }
  const API_READY = /api: map and API on /

  it('listens on 127.0.0.1 only and prints that address', async () => {
    const p = await run('api/src/main.ts', await withBroker(), API_READY)
    const http = portIn(p.stdout(), /api: map and API on http:\/\/127\.0\.0\.1:(\d+)\//)
    expect((await fetch(`http://127.0.0.1:${http}/api/v1/devices`)).status).toBe(200)
    expect(p.stdout()).not.toContain('WARNING')
    expect(listeningOn(http)).toEqual(['127.0.0.1'])
  })

  it('HTTP_HOST=0.0.0.0 set explicitly: reachable from the network, with the warning in the banner and the log', async () => {
    const p = await run('api/src/main.ts', { ...(await withBroker()), HTTP_HOST: '0.0.0.0' }, API_READY)
    const http = portIn(p.stdout(), /api: map and API on http:\/\/localhost:(\d+)\//)
    expect(p.stdout()).toContain('CẢNH BÁO / WARNING')
    expect(p.stdout()).toMatch(/sign-in is disabled and the map is reachable from the network at /)
    expect(await p.log((l) => l.level === 'warn' && /reachable from the network/.test(l.msg))).toMatchObject({ host: '0.0.0.0' })
    expect(listeningOn(http).some((a) => a === '0.0.0.0' || a === '::')).toBe(true)
  })
})
