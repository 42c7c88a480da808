import { spawn, type ChildProcess } from 'node:child_process'
import { waitFor } from './wait-for.ts'

/** Bytes of the daemon's output kept for error messages: enough for its last few log lines. */
const OUTPUT_TAIL_BYTES = 4096

export interface DaemonSpec {
  /** For messages: `influxd`, `redis-server`. */
  name: string
  bin: string
  args: string[]
  /** True once the daemon answers (its own ping). */
  ready: () => Promise<boolean>
  /** What the wait for `ready` is called in a timeout message. */
  readyWhat: string
  startTimeoutMs: number
  /** Time between SIGTERM and SIGKILL on terminate(); 0 kills at once (nothing to flush). */
  termGraceMs: number
  /** The harness's own error type, so callers can tell a daemon failure from a test failure. */
  error: (message: string, cause?: unknown) => Error
}

export interface RunningDaemon {
  /** Stops the process and waits for its exit. Safe to call twice. */
  terminate(): Promise<void>
}

/**
 * Starts a throwaway daemon for integration tests and waits until it answers, or fails with its last output:
 * early exit, spawn error or timeout. The process is also killed if the test process exits without teardown (a
 * crashed worker), so no daemon outlives the run.
 */
export async function startDaemon(spec: DaemonSpec): Promise<RunningDaemon> {
  let child: ChildProcess | undefined
  let output = ''
  const killOnExit = () => child?.kill('SIGKILL')

  const terminate = async (): Promise<void> => {
    const proc = child
    child = undefined
    process.off('exit', killOnExit)
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    proc.kill(spec.termGraceMs > 0 ? 'SIGTERM' : 'SIGKILL')
    const hard = spec.termGraceMs > 0 ? setTimeout(() => proc.kill('SIGKILL'), spec.termGraceMs) : undefined
    await gone
    clearTimeout(hard)
  }

  const proc = spawn(spec.bin, spec.args, { stdio: ['ignore', 'pipe', 'pipe'] })
  child = proc
  process.on('exit', killOnExit)
  const keep = (b: Buffer) => (output = (output + b.toString()).slice(-OUTPUT_TAIL_BYTES))
  proc.stdout!.on('data', keep)
  proc.stderr!.on('data', keep)
  let failedToRun: Error | undefined
  const exited = new Promise<never>((_, reject) => {
    proc.once('error', (err) => reject((failedToRun = spec.error(`could not run ${spec.bin}: ${err.message}`, err))))
    proc.once('exit', (code, signal) => reject((failedToRun = spec.error(`${spec.name} exited early (code ${code}, signal ${signal}):\n${output.trim()}`))))
  })
  exited.catch(() => {}) // only raced below; an exit after a good start is not an error
  try {
    await Promise.race([exited, waitFor(spec.ready, { timeoutMs: spec.startTimeoutMs, what: spec.readyWhat })])
  } catch (err) {
    await terminate()
    if (err === failedToRun || !output) throw err
    throw spec.error(`${(err as Error).message}\n${spec.name} output:\n${output.trim()}`, err)
  }
  return { terminate }
}
