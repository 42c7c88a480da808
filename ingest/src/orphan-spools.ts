import { readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '@mytho/runtime'
import type { StoredReading } from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'
import { createBatchWriter } from './batch-writer.ts'
import type { PartitionLeases } from './partition-leases.ts'
import { openSpool } from './spool.ts'

/*
 * A dead worker's spool (INGEST_PARTITIONS > 0): while storage was down it acknowledged readings to the broker
 * and kept them in DATA_DIR/spool-WORKER.sqlite; if it never comes back, nobody else would write them. Every
 * round a live worker looks for spool files of workers with no heartbeat, takes a lock on one in Redis and drains
 * it into storage (oldest first, with the batch writer's own retry), removing each batch only once stored.
 * The file is only read and its rows deleted (SQLite's own locking: safe if its worker turns out to be alive, and
 * a batch written twice is the same points); it is unlinked only once empty and long untouched.
 */

export interface OrphanSpoolOptions {
  dataDir: string
  workerId: string
  /** How often to look, ms (the lease TTL). */
  everyMs: number
  maxReadings: number
}

const SPOOL_FILE = /^spool-(.+)\.sqlite$/

export function createOrphanSpoolDrainer(
  opts: OrphanSpoolOptions,
  deps: {
    leases: PartitionLeases
    store: ReadingStore
    logger: Logger
    onStored: (readings: readonly StoredReading[]) => void
    /** Resolves once what onStored was handed is committed (the alert state in Redis); a batch leaves the spool after. */
    settled?: () => Promise<void>
    /** ms since epoch, as the ingest's; default Date.now. */
    clock?: () => number
  },
) {
  const log = deps.logger.child({ part: 'orphan-spools' })
  const stats = { drainedItems: 0, adopted: 0 }
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let stopped = false
  let current: { close(): Promise<void> } | undefined
  const lockMs = Math.max(opts.everyMs * 3, 3000)

  async function drainOne(id: string, path: string): Promise<void> {
    const name = `spool:${id}`
    if (!(await deps.leases.lock(name, lockMs))) return
    const spool = openSpool({ path, maxItems: Number.MAX_SAFE_INTEGER, ...(deps.clock ? { clock: deps.clock } : {}) })
    const renew = setInterval(() => void deps.leases.lock(name, lockMs).catch(() => {}), Math.floor(lockMs / 3))
    try {
      if (spool.batches > 0) {
        stats.adopted++
        const items = spool.items
        log.warn('draining the spool of a worker that is gone', { worker: id, items })
        const writer = createBatchWriter(
          deps.store,
          {
            maxReadings: opts.maxReadings,
            maxWaitMs: 0,
            spool,
            onStored: deps.onStored,
            ...(deps.settled ? { settled: deps.settled } : {}),
            ...(deps.clock ? { clock: deps.clock } : {}),
          },
          log,
        )
        current = writer
        writer.start()
        while (!stopped && spool.batches > 0) await (writer.draining ?? new Promise((r) => setTimeout(r, 100)))
        await writer.close()
        current = undefined
        stats.drainedItems += writer.stats.drainedItems
        if (spool.batches === 0) log.info('spool of a gone worker drained', { worker: id, items: writer.stats.drainedItems })
      }
      const empty = spool.batches === 0
      spool.close()
      // The file's mtime is the file system's wall clock, so its age is measured on that clock, not the injected one.
      if (empty && Date.now() - statSync(path).mtimeMs > lockMs * 10) for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true })
    } finally {
      clearInterval(renew)
      spool.close()
      await deps.leases.unlock(name).catch(() => {})
    }
  }

  async function round(): Promise<void> {
    let files: string[]
    try {
      files = readdirSync(opts.dataDir)
    } catch {
      return
    }
    const candidates = files.map((f) => [SPOOL_FILE.exec(f)?.[1], f] as const).filter(([id]) => id !== undefined && id !== opts.workerId)
    if (candidates.length === 0) return
    const live = await deps.leases.liveWorkers()
    for (const [id, f] of candidates) {
      if (stopped) return
      if (live.has(id!)) continue
      await drainOne(id!, join(opts.dataDir, f))
    }
  }

  const loop = () => {
    running = round()
      .catch((err: unknown) => log.warn('orphan spool round failed', { err: (err as Error).message }))
      .finally(() => {
        running = undefined
        if (!stopped) timer = setTimeout(loop, opts.everyMs).unref()
      })
  }

  return {
    stats,
    start(): void {
      timer = setTimeout(loop, 0)
      timer.unref()
    },
    async stop(): Promise<void> {
      stopped = true
      clearTimeout(timer)
      await current?.close()
      await running
    },
  }
}
