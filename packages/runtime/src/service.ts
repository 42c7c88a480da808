import { secureDataDir } from './data-dir.ts'
import type { Logger } from './logger.ts'

/** Every service has this shape: start() resolves once it is serving, stop() is safe to call twice. */
export interface Service<Started = unknown> {
  start(): Promise<Started>
  stop(): Promise<void>
}

/** Wraps a stop function so concurrent and repeated calls share one shutdown. */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined
  return () => (p ??= fn())
}

/**
 * For entry points (runMain does it; a CLI that opens DATA_DIR without runMain calls it first): every file and folder
 * this process creates, SQLite's and LevelDB's included (they create theirs with the process umask), is its user's
 * alone, 0600 and 0700, whatever umask the process was started with.
 */
export function privateUmask(): void {
  process.umask(0o077)
}

export interface MainOptions {
  /** The service's DATA_DIR: what an older version left readable by others in it is made private (secureDataDir) before the service is built. */
  dataDir?: string
}

/**
 * The only place that touches process signals and exit codes: starts a service from main.ts,
 * stops it on SIGTERM/SIGINT (flushing what is in flight), exits non-zero on a failed start.
 * Files the process creates are private (privateUmask); so is options.dataDir, before the service is built.
 */
export async function runMain<T>(
  name: string,
  logger: Logger,
  build: () => Service<T> | Promise<Service<T>>,
  onStarted?: (s: T) => void,
  options: MainOptions = {},
): Promise<void> {
  privateUmask()
  let service: Service<T> | undefined
  let started = false
  let stopping = false
  let pendingSignal: string | undefined
  const shutdown = (signal: string) => {
    if (stopping) return
    // A signal during the start waits for it to end: stopping a half-built service would skip its flush.
    if (!started) {
      pendingSignal ??= signal
      setTimeout(() => process.exit(1), 15_000).unref()
      return
    }
    stopping = true
    logger.info(`${name} stopping`, { signal })
    const hard = setTimeout(() => process.exit(1), 15_000).unref()
    service!
      .stop()
      .then(() => {
        clearTimeout(hard)
        process.exit(0)
      })
      .catch((err: unknown) => {
        logger.error(`${name} stop failed`, { err })
        process.exit(1)
      })
  }
  // Registered before the start, not after it: whoever reads the banner may send SIGTERM at once, and a signal that
  // arrives before a handler exists kills the process without its clean stop (exit by signal, nothing flushed).
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  try {
    if (options.dataDir !== undefined) secureDataDir(options.dataDir, logger)
    service = await build()
    const result = await service.start()
    started = true
    onStarted?.(result)
  } catch (err) {
    logger.error(`${name} failed to start`, { err })
    process.stderr.write(`${name}: ${(err as Error).message}\n`)
    await service?.stop().catch(() => {})
    process.exit(1)
  }
  if (pendingSignal !== undefined) shutdown(pendingSignal)
}

/** For main.ts: parse config, or print which variables are wrong and exit 2 (no stack trace for a typo). */
export function configOrExit<T>(name: string, load: () => T): T {
  try {
    return load()
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n`)
    process.exit(2)
  }
}
