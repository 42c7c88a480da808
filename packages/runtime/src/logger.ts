import { AsyncLocalStorage } from 'node:async_hooks'
import { types } from 'node:util'
import { pino, stdSerializers, type DestinationStream } from 'pino'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

/**
 * What modules log through. Kept narrower than pino's own (`info(fields, msg)`, printf arguments): the
 * message first, one flat object of fields, the shape every call site already uses.
 */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(fields: Record<string, unknown>): Logger
}

/** The keys each line sets itself. A caller's field of the same name is kept beside it as `level_`, `time_`, `msg_`. */
const OWN_KEYS = new Set(['level', 'time', 'msg'])

function keepOwnKeys(fields: Record<string, unknown>): Record<string, unknown> {
  let clash = false
  for (const k of OWN_KEYS) if (Object.hasOwn(fields, k)) clash = true
  if (!clash) return fields
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) out[OWN_KEYS.has(k) ? `${k}_` : k] = v
  return out
}

/** Fields added to every line written inside withLogContext (e.g. the API's reqId), by any logger, at any depth. */
const context = new AsyncLocalStorage<Record<string, unknown>>()

/**
 * Runs `fn` so that every line logged while it runs, and in what it starts (awaits, timers, callbacks), carries
 * `fields`; a caller's field of the same name wins. Nested contexts add to the outer one.
 */
export function withLogContext<T>(fields: Record<string, unknown>, fn: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, fn)
}

/**
 * stderr, written synchronously: a line is in the pipe before the call returns, so a process killed right after
 * (tests SIGKILL services and read their output) still shows it. One per process, made on first use.
 */
let stderr: DestinationStream | undefined
const stderrDestination = () => (stderr ??= pino.destination({ dest: 2, sync: true }))

/** pino's standard error serializer (type, message and stack, causes appended); already-shaped objects pass as they are. */
const serializeErr = (v: unknown) => (types.isNativeError(v) || v instanceof Error ? stdSerializers.err(v as Error) : v)

function wrap(p: pino.Logger): Logger {
  return {
    debug: (msg, fields) => p.debug(fields ?? {}, msg),
    info: (msg, fields) => p.info(fields ?? {}, msg),
    warn: (msg, fields) => p.warn(fields ?? {}, msg),
    error: (msg, fields) => p.error(fields ?? {}, msg),
    // pino applies formatters.bindings to the root's base only, so a child's bindings are checked here.
    child: (fields) => wrap(p.child(keepOwnKeys(fields))),
  }
}

/**
 * Structured JSON lines (pino): `{"level":"info","time":"<ISO>",...bindings,...fields,"msg":"..."}`, one per
 * call. Modules never choose where logs go: the entry point makes one; `sink` (default: stderr) gets each
 * line without its newline, for tests that read what was logged.
 */
export function createLogger(level: LogLevel = 'info', base: Record<string, unknown> = {}, sink?: (line: string) => void): Logger {
  const destination: DestinationStream = sink ? { write: (line) => sink(line.endsWith('\n') ? line.slice(0, -1) : line) } : stderrDestination()
  const p = pino(
    {
      level,
      // No pid/hostname: a line names its service through `base` (the entry point's { service }).
      base: keepOwnKeys(base),
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: keepOwnKeys,
      },
      serializers: { err: serializeErr },
      // A copy: pino merges the line's fields into what mixin returns.
      mixin: () => ({ ...context.getStore() }),
    },
    destination,
  )
  return wrap(p)
}

/** For tests and libraries used without a logger: says nothing. */
export const silentLogger: Logger = createLogger('silent', {}, () => {})
