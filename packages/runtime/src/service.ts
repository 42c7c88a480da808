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
 * The only place that touches process signals and exit codes: starts a service from main.ts,
 * stops it on SIGTERM/SIGINT (flushing what is in flight), exits non-zero on a failed start.
 */
export async function runMain<T>(name: string, logger: Logger, build: () => Service<T> | Promise<Service<T>>, onStarted?: (s: T) => void): Promise<void> {
  let service: Service<T> | undefined
  try {
    service = await build()
    const started = await service.start()
    onStarted?.(started)
  } catch (err) {
    logger.error(`${name} failed to start`, { err })
    process.stderr.write(`${name}: ${(err as Error).message}\n`)
    await service?.stop().catch(() => {})
    process.exit(1)
  }
  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
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
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
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
