import { connect } from 'node:net'
import { startDaemon, type RunningDaemon } from './daemon.ts'
import { freePort } from './free-port.ts'
import { which } from './system-tools.ts'
import { makeTempDir } from './temp-dir.ts'

export interface RedisServer {
  /** `redis://127.0.0.1:PORT`, what REDIS_URL takes. */
  url: string
  port: number
  /** The temp dir redis-server runs in (nothing is written there: no RDB, no AOF). */
  dir: string
  /** SIGKILLs redis-server and removes its dir. Safe to call twice. */
  stop(): Promise<void>
}

export class RedisServerError extends Error {
  override name = 'RedisServerError'
}

export interface StartRedisOptions {
  /** Path of the binary. Default: `redis-server` on PATH (Debian package `redis-server`, 7.x). */
  bin?: string
  /** How long to wait for PING to answer PONG, ms. Default 10,000. */
  startTimeoutMs?: number
}

/**
 * A throwaway Redis for integration tests: loopback only, a free port, its own temp dir as working directory,
 * no persistence (`save ""`, `appendonly no`: the tests want a clean slate, and a broker cluster's durability
 * on Redis is Redis's own configuration, not ours), no protected mode needed on 127.0.0.1. The caller registers
 * `stop()` as teardown; the process is also killed if the test process exits without it.
 */
export async function startRedisServer(opts: StartRedisOptions = {}): Promise<RedisServer> {
  const bin = opts.bin ?? which('redis-server') ?? '/usr/bin/redis-server'
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000
  const dir = makeTempDir('mytho-redis-')
  let daemon: RunningDaemon | undefined

  const launch = async (port: number): Promise<void> => {
    // Options on the command line as `--name value`, the way redis-server takes a config without a file.
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir.path,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
      '--logfile',
      '',
    ]
    daemon = await startDaemon({
      name: `redis-server on port ${port}`,
      bin,
      args,
      ready: () => ping(port),
      readyWhat: `redis-server PING on port ${port}`,
      startTimeoutMs,
      // Nothing to flush (no persistence), so no graceful shutdown to wait for.
      termGraceMs: 0,
      error: (message, cause) => new RedisServerError(message, { cause }),
    })
  }
  const terminate = async (): Promise<void> => {
    await daemon?.terminate()
  }

  // redis-server could take port 0 but would not say which port it got; freePort() leaves a small window in
  // which someone else may take the port, so a start that fails on the address is retried on a fresh one.
  let port = 0
  for (let attempt = 1; ; attempt++) {
    port = await freePort()
    try {
      await launch(port)
      break
    } catch (err) {
      if (attempt < 3 && /Address already in use|bind/i.test((err as Error).message)) continue
      dir.cleanup()
      throw err
    }
  }

  let stopped: Promise<void> | undefined
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir: dir.path,
    stop: () => (stopped ??= terminate().then(() => dir.cleanup())),
  }
}

/** True when the server answers PING with +PONG; a fresh connection each time so no socket outlives the check. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (b) => {
      reply += b.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}
