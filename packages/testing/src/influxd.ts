import { mkdirSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { startDaemon, type RunningDaemon } from './daemon.ts'
import { freePort } from './free-port.ts'
import { which } from './system-tools.ts'
import { makeTempDir } from './temp-dir.ts'

export interface Influxd {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:41234`. */
  url: string
  port: number
  /** The temp dir holding meta/, data/, wal/ and the generated config. */
  dataDir: string
  /** SIGTERM and wait for exit; keeps the data dir and port so `resume()` brings the same database back (outage tests). */
  pause(): Promise<void>
  /** Starts influxd again on the same dir and port and waits until it answers /ping. */
  resume(): Promise<void>
  /** Stops influxd and removes its data dir. Safe to call twice, and after pause(). */
  stop(): Promise<void>
}

export class InfluxdError extends Error {
  override name = 'InfluxdError'
}

export interface StartInfluxdOptions {
  /** Path of the influxd binary. Default: `influxd` on PATH (Debian package `influxdb`, 1.6.x). */
  bin?: string
  /** How long to wait for /ping to answer 204, ms. Default 20,000. */
  startTimeoutMs?: number
  /** Require credentials (InfluxDB 1.x `auth-enabled`); the first admin is then created with CREATE USER. Default false. */
  authEnabled?: boolean
}

/** How long stop()/pause() wait for a clean exit after SIGTERM before SIGKILL, ms. */
const TERM_GRACE_MS = 5_000

/**
 * A throwaway InfluxDB 1.x for integration tests: its own temp dir, HTTP and RPC on free 127.0.0.1 ports,
 * nothing reported home, no `_internal` monitor database, quiet logs. The caller registers `stop()` as teardown.
 */
export async function startInfluxd(opts: StartInfluxdOptions = {}): Promise<Influxd> {
  const bin = opts.bin ?? which('influxd') ?? '/usr/bin/influxd'
  const startTimeoutMs = opts.startTimeoutMs ?? 20_000
  const dir = makeTempDir('mytho-influxd-')
  let port = 0

  // influxd cannot bind port 0, so freePort() leaves a small window in which someone else may take the
  // port; a start that fails with "address already in use" is retried on fresh ports.
  const configure = async (): Promise<string> => {
    port = await freePort()
    const rpcPort = await freePort()
    const config = join(dir.path, 'influxd.conf')
    for (const sub of ['meta', 'data', 'wal']) mkdirSync(join(dir.path, sub), { recursive: true })
    writeFileSync(config, configText(dir.path, port, rpcPort, opts.authEnabled === true))
    return config
  }

  let daemon: RunningDaemon | undefined
  const launch = async (config: string): Promise<void> => {
    daemon = await startDaemon({
      name: `influxd on port ${port}`,
      bin,
      args: ['-config', config],
      ready: () => pingStatus(port).then((s) => s === 204),
      readyWhat: `influxd /ping on port ${port}`,
      startTimeoutMs,
      termGraceMs: TERM_GRACE_MS,
      error: (message, cause) => new InfluxdError(message, { cause }),
    })
  }
  const terminate = async (): Promise<void> => {
    const running = daemon
    daemon = undefined
    await running?.terminate()
  }

  for (let attempt = 1; ; attempt++) {
    const config = await configure()
    try {
      await launch(config)
      break
    } catch (err) {
      if (attempt < 3 && /address already in use/.test((err as Error).message)) continue
      dir.cleanup()
      throw err
    }
  }

  const config = join(dir.path, 'influxd.conf')
  let stopped: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir: dir.path,
    pause: terminate,
    async resume() {
      if (stopped) throw new InfluxdError('influxd was stopped; start a new one')
      if (daemon) return
      await launch(config)
    },
    stop() {
      return (stopped ??= terminate().then(() => dir.cleanup()))
    },
  }
}

function configText(dir: string, httpPort: number, rpcPort: number, authEnabled = false): string {
  const q = (p: string) => JSON.stringify(join(dir, p)) // TOML basic strings share JSON's escapes
  return `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = ${q('meta')}
  logging-enabled = false

[data]
  dir = ${q('data')}
  wal-dir = ${q('wal')}
  # fsync every WAL write, as production should: "durable when resolved" is what the store contract promises.
  wal-fsync-delay = "0s"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
  log-enabled = false

[http]
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = ${authEnabled}
  log-enabled = false
  suppress-write-log = true
  pprof-enabled = false

[logging]
  level = "error"
  suppress-logo = true
`
}

/** GET /ping status, or 0 when nothing answers; a fresh connection each time so no socket outlives the check. */
function pingStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/ping', agent: false, timeout: 1_000 }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(0))
    req.end()
  })
}
