import { mkdtemp, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '@mytho/runtime'
import type { DeviceRecord } from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'
import { exportOpenData, yesterdayLocal } from './open-data.ts'

/*
 * The daily open-data files, written by the API itself when OPEN_DATA_DIR is set (issue #22): the files of
 * `npm run export:open-data` (open-data.ts), for each local day (Asia/Ho_Chi_Minh) once it has ended, so the portal
 * needs no cron. A day is written whole into a hidden temporary folder beside the day folders, then renamed to
 * `<day>/` in one step: a reader sees all of a day or none of it, and a day folder that exists is never written again.
 * Several API nodes sharing the folder (a cluster on one network volume) each write the day into their own temporary
 * folder; the first rename wins, the others find the day there and drop theirs, so concurrent writers are harmless.
 * On start the last OPEN_DATA_CATCH_UP_DAYS days are looked at, so days missed while the API was down are written.
 */

/** Days looked back at on every check (and so on start): a longer outage leaves older days to the CLI. */
export const OPEN_DATA_CATCH_UP_DAYS = 7
/**
 * How long after local midnight the day just ended is written, ms: its last readings have reached the store (the
 * ingest's batches, a device's buffered backlog) and the hourly roll-ups have them. Default 10 min.
 */
export const OPEN_DATA_DELAY_MS = 10 * 60_000
/** How often the job looks whether a day is due, ms. Default 1 min. */
export const OPEN_DATA_CHECK_MS = 60_000

const DAY_MS = 86_400_000
export const OPEN_DATA_DAY = /^\d{4}-\d{2}-\d{2}$/

export interface OpenDataJobDeps {
  /** OPEN_DATA_DIR: the day folders go here. */
  dir: string
  store: ReadingStore
  /** The directory's devices as they are now (the public flag an admin sets). */
  devices: () => readonly DeviceRecord[]
  clock: () => number
  logger: Logger
  catchUpDays?: number
  delayMs?: number
  checkMs?: number
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false
      throw err
    },
  )

export function createOpenDataJob(deps: OpenDataJobDeps) {
  const log = deps.logger
  const catchUp = deps.catchUpDays ?? OPEN_DATA_CATCH_UP_DAYS
  const delayMs = deps.delayMs ?? OPEN_DATA_DELAY_MS
  let timer: NodeJS.Timeout | undefined
  let running: Promise<string[]> = Promise.resolve([])
  let stopped = false

  /** The days due at `now`, oldest first: the last `catchUp` local days that ended at least delayMs ago. */
  const dueDays = (now: number): string[] => {
    const out: string[] = []
    for (let i = catchUp - 1; i >= 0; i--) out.push(yesterdayLocal(now - delayMs - i * DAY_MS))
    return out
  }

  /** Writes one day unless its folder is there; true when this call put it there. */
  async function writeDay(day: string): Promise<boolean> {
    const final = join(deps.dir, day)
    if (await exists(final)) return false
    // Hidden and unique to this writer: the index and the file route skip dot-folders.
    const tmp = await mkdtemp(join(deps.dir, `.${day}-`))
    try {
      await exportOpenData({ store: deps.store, devices: deps.devices(), day, outDir: tmp })
      try {
        await rename(join(tmp, day), final)
      } catch (err) {
        // Another writer's rename came first (a non-empty folder cannot be renamed over): theirs stays.
        if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') return false
        throw err
      }
      return true
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
  }

  async function checkNow(): Promise<string[]> {
    const written: string[] = []
    for (const day of dueDays(deps.clock())) {
      if (stopped) break
      try {
        if (await writeDay(day)) {
          written.push(day)
          log.info('open-data day written', { day, dir: deps.dir })
        }
      } catch (err) {
        // The next check tries the day again; the API goes on.
        log.error('open-data day not written; tried again at the next check', { err, day, dir: deps.dir })
      }
    }
    return written
  }

  /** Writes every due day not written yet; checks run one after another. Resolves with the days this call wrote. */
  const check = (): Promise<string[]> => (running = running.then(checkNow, checkNow))

  return {
    check,
    /** Catches up at once, then checks every checkMs. */
    start(): void {
      if (stopped || timer) return
      void check()
      timer = setInterval(() => void check(), deps.checkMs ?? OPEN_DATA_CHECK_MS)
      timer.unref()
    },
    /** Stops the timer and waits for a day being written. Safe to call twice. */
    async stop(): Promise<void> {
      stopped = true
      clearInterval(timer)
      timer = undefined
      await running.catch(() => undefined)
    },
  }
}
export type OpenDataJob = ReturnType<typeof createOpenDataJob>
