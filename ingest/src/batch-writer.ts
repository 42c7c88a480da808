import type { Rejection, StoredReading } from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import { StorageError, type ReadingStore } from '@mytho/storage'
import type { Spool } from './spool.ts'

/*
 * Collects validated readings and dead letters with the acknowledgements they owe, and writes them
 * in batches (by count and by time). An acknowledgement is released only after its batch is durable:
 * stored, or (with a spool) appended to the on-disk spool. A crash before that leaves the message with
 * the broker, which redelivers it; storage keys points by (deviceId, ts), so a redelivered copy, or a
 * spooled batch written again after a crash between "stored" and "removed from the spool", does not
 * become a second point.
 *
 * With a spool: a batch whose write fails retryably is spooled and acknowledged, and so is every batch
 * while the spool is not empty, so readings reach storage in arrival order. A drain writes spooled
 * batches oldest first, backing off (Retry-After when storage gives one) and removing each only once
 * stored; it starts with whatever a previous run left. When the spool is full the batch waits
 * unacknowledged, the next ones pile up behind it, and `onBackpressure(true)` lets the caller stop
 * reading from the broker; nothing is dropped.
 * Without a spool the batch is retried in place, acknowledgements held (the broker keeps the messages).
 * One direct write is in flight at a time: while it runs the next batch fills, which batches harder under load.
 */

export interface BatchWriterOptions {
  maxReadings: number
  maxWaitMs: number
  /** Backoff bounds while storage is unavailable, ms. */
  retryMinMs?: number
  retryMaxMs?: number
  /** Called with what was durably stored, after each batch (live push to the API). */
  onStored?: (readings: readonly StoredReading[]) => void
  /**
   * Resolves once what `onStored` was handed so far is committed wherever it must be (the alert state in Redis).
   * A spooled batch leaves the spool only after: it was acknowledged long ago, so the spool is its only copy
   * until its alert evaluation is durable too. Default: nothing to wait for.
   */
  settled?: () => Promise<void>
  /** ms since epoch; the end of the roll-up asked for once the spool drained. Default Date.now. */
  clock?: () => number
  /** On-disk spool for batches storage cannot take now; without one, acknowledgements wait for storage. */
  spool?: Spool
  /** true when the spool is full (stop reading new messages), false once it has room again. */
  onBackpressure?: (full: boolean) => void
}

interface Pending {
  readings: StoredReading[]
  rejections: Rejection[]
  acks: (() => void)[]
}

const emptyBatch = (): Pending => ({ readings: [], rejections: [], acks: [] })

/** What a store throws that is not a StorageError (a bug, a dropped socket) counts as "try again later". */
const asStorageError = (err: unknown): StorageError =>
  err instanceof StorageError ? err : new StorageError(String((err as Error)?.message ?? err), { cause: err, retryable: true })

export function createBatchWriter(storage: ReadingStore, opts: BatchWriterOptions, logger: Logger) {
  const retryMin = opts.retryMinMs ?? 100
  const retryMax = opts.retryMaxMs ?? 10_000
  const clock = opts.clock ?? Date.now
  let pending = emptyBatch()
  let timer: NodeJS.Timeout | undefined
  let writing: Promise<void> | undefined
  let closed = false
  const spool = opts.spool
  const sleepers = new Set<() => void>()
  let draining: Promise<void> | undefined
  let spoolFull = false
  let wakeSpoolRoom: (() => void) | undefined
  const stats = {
    batches: 0,
    written: 0,
    deadLettered: 0,
    writeErrors: 0,
    lastBatchSize: 0,
    storageDown: false,
    /** Batches and items (readings + dead letters) that went through the spool. */
    spooledBatches: 0,
    spooledItems: 0,
    drainedItems: 0,
    /** True while the spool is full and acknowledgements are held. */
    spoolFull: false,
    /** Successful reading writes and their total and slowest duration, seconds. */
    writes: 0,
    writeSecondsSum: 0,
    writeSecondsMax: 0,
    /** Called with each successful write's duration, seconds (the metrics' latency histogram listens here). */
    writeObservers: [] as ((seconds: number) => void)[],
  }
  // Every successful reading write is timed here, whichever path (direct, retry, spool drain) made it.
  // (Prototype delegation, so the other methods stay the adapter's own, whatever shape it has.)
  const store = Object.create(storage) as ReadingStore
  store.writeReadings = async (readings) => {
    const t0 = performance.now()
    await storage.writeReadings(readings)
    const s = (performance.now() - t0) / 1000
    stats.writes++
    stats.writeSecondsSum += s
    if (s > stats.writeSecondsMax) stats.writeSecondsMax = s
    for (const observe of stats.writeObservers) observe(s)
  }

  /** Sleeps `ms`, or less when close() ends it. */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(t)
        sleepers.delete(wake)
        resolve()
      }
      const t = setTimeout(wake, ms)
      sleepers.add(wake)
    })

  const setFull = (full: boolean) => {
    if (full === spoolFull) return
    spoolFull = full
    stats.spoolFull = full
    if (full) logger.warn('spool full; holding acknowledgements so the broker keeps the rest', { items: spool?.items })
    else logger.info('spool has room again; acknowledging')
    opts.onBackpressure?.(full)
  }

  /** Retries while storage says "later"; returns false if closed meanwhile (the acks stay unsent). */
  async function withRetry(what: string, fn: () => Promise<void>): Promise<'ok' | 'closed' | StorageError> {
    let delay = retryMin
    for (;;) {
      try {
        await fn()
        if (stats.storageDown) logger.info('storage is back', { what })
        stats.storageDown = false
        return 'ok'
      } catch (err) {
        stats.writeErrors++
        const e = asStorageError(err)
        if (!e.retryable) return e
        if (!stats.storageDown) logger.warn('storage unavailable; retrying', { what, err: e.message, spooling: spool !== undefined })
        stats.storageDown = true
        if (closed) return 'closed'
        await sleep(e.retryAfterMs ?? delay)
        delay = Math.min(retryMax, delay * 2)
        if (closed) return 'closed'
      }
    }
  }

  /** A batch storage refuses outright: write readings one by one and dead-letter those refused. */
  async function writeOneByOne(readings: StoredReading[], into: Rejection[]): Promise<'ok' | 'closed'> {
    for (const r of readings) {
      const res = await withRetry('reading', () => store.writeReadings([r]))
      if (res === 'closed') return 'closed'
      if (res !== 'ok') {
        logger.warn('storage refused a reading; dead-lettering it', { deviceId: r.deviceId, err: res.message })
        into.push({
          code: 'storage_rejected',
          message: res.message,
          raw: JSON.stringify(r),
          rawBytes: 0,
          topic: '',
          deviceId: r.deviceId,
          receivedAt: r.receivedAt,
        })
      } else stats.written++
    }
    return 'ok'
  }

  /** Stores readings then dead letters, retrying while storage says "later"; 'closed' if closed meanwhile. */
  async function store_(readings: StoredReading[], rejections: Rejection[]): Promise<'ok' | 'closed'> {
    if (readings.length > 0) {
      const res = await withRetry('readings', () => store.writeReadings(readings))
      if (res === 'closed') return 'closed'
      if (res === 'ok') {
        stats.written += readings.length
        opts.onStored?.(readings)
      } else if ((await writeOneByOne(readings, rejections)) === 'closed') return 'closed'
    }
    if (rejections.length > 0) {
      const res = await withRetry('dead letters', () => store.writeDeadLetters(rejections))
      if (res === 'closed') return 'closed'
      if (res !== 'ok') logger.error('storage refused dead letters; acknowledging anyway so the stream moves', { err: res.message, count: rejections.length })
      else stats.deadLettered += rejections.length
    }
    return 'ok'
  }

  /** One attempt; a retryable failure is returned (the caller spools), anything else is handled here. */
  async function tryDirect(batch: Pending): Promise<'ok' | 'closed' | 'spool'> {
    if (batch.readings.length > 0) {
      try {
        await store.writeReadings(batch.readings)
      } catch (err) {
        const e = asStorageError(err)
        if (e.retryable) {
          stats.writeErrors++
          if (!stats.storageDown) logger.warn('storage unavailable; spooling to disk', { err: e.message })
          stats.storageDown = true
          return 'spool'
        }
        // Refused outright: the old path sorts the good from the bad reading by reading.
        return store_(batch.readings, batch.rejections)
      }
      stats.written += batch.readings.length
      opts.onStored?.(batch.readings)
    }
    return store_([], batch.rejections)
  }

  /** Appends to the spool, waiting (acknowledgements held, backpressure on) while it is full. */
  async function spoolBatch(batch: Pending): Promise<'ok' | 'closed'> {
    const s = spool!
    for (;;) {
      if (closed) return 'closed'
      if (s.append(batch.readings, batch.rejections)) break
      setFull(true)
      await new Promise<void>((resolve) => {
        wakeSpoolRoom = resolve
        sleepers.add(resolve)
      })
      sleepers.delete(wakeSpoolRoom!)
      wakeSpoolRoom = undefined
    }
    setFull(false)
    stats.spooledBatches++
    stats.spooledItems += batch.readings.length + batch.rejections.length
    startDrain()
    return 'ok'
  }

  /** Waits for `p`, or less when close() ends it. */
  const unlessClosed = (p: Promise<void>) =>
    new Promise<'ok' | 'closed'>((resolve) => {
      if (closed) return resolve('closed')
      const wake = () => {
        sleepers.delete(wake)
        resolve('closed')
      }
      sleepers.add(wake)
      // A rejection is the committer's to log and retry: settled() gives up only on what it could not judge at all.
      const done = () => {
        sleepers.delete(wake)
        resolve('ok')
      }
      p.then(done, done)
    })

  /** Oldest reading time written from the spool since it was last empty. */
  let drainedFrom: number | undefined

  /** Writes spooled batches oldest first until the spool is empty or the writer closes. */
  function startDrain(): void {
    if (!spool || draining || closed || spool.batches === 0) return
    draining = (async () => {
      for (;;) {
        // Several small spooled batches make one write: catching up after an outage is write-bound.
        const next = spool.peek(opts.maxReadings)
        if (!next || closed) return
        if ((await store_(next.readings, next.rejections)) === 'closed') return
        // Closed while the alert state commits: the batch stays spooled and is stored and judged again at the next
        // start (the same points; judged twice as a redelivered reading is), rather than lost to a SIGKILL after.
        if (opts.settled && (await unlessClosed(opts.settled())) === 'closed') return
        for (const r of next.readings) if (drainedFrom === undefined || r.ts < drainedFrom) drainedFrom = r.ts
        spool.remove(next.id)
        stats.drainedItems += next.readings.length + next.rejections.length
        wakeSpoolRoom?.()
      }
    })()
      .catch((err: unknown) => logger.error('spool drain failed', { err }))
      .finally(() => {
        draining = undefined
        if (spool.batches === 0) {
          setFull(false)
          logger.info('spool drained')
          // Roll-ups computed on a schedule (InfluxDB continuous queries) missed what arrived this late.
          const from = drainedFrom
          drainedFrom = undefined
          if (from !== undefined)
            storage.rollUp(from, clock()).catch((err: unknown) => logger.warn('roll-up after the spool drained failed', { err: (err as Error).message }))
        } else if (!closed) setTimeout(startDrain, retryMin).unref()
      })
  }
  async function writeBatch(batch: Pending): Promise<void> {
    stats.lastBatchSize = batch.readings.length
    let res: 'ok' | 'closed' | 'spool'
    if (!spool) res = await store_(batch.readings, batch.rejections)
    else if (spool.batches > 0)
      res = 'spool' // storage is behind: keep arrival order through the spool
    else res = await tryDirect(batch)
    if (res === 'spool') res = await spoolBatch(batch)
    if (res === 'closed') return
    stats.batches++
    for (const ack of batch.acks) ack()
  }

  /** When the first message of `pending` arrived: a batch waits maxWaitMs from then, not from the last write's end. */
  let pendingSince = 0

  function kick(): void {
    if (writing || closed) return
    if (pending.readings.length === 0 && pending.rejections.length === 0 && pending.acks.length === 0) return
    clearTimeout(timer)
    timer = undefined
    const batch = pending
    pending = emptyBatch()
    writing = writeBatch(batch)
      .catch((err: unknown) => logger.error('batch write failed', { err }))
      .finally(() => {
        writing = undefined
        if (pending.acks.length === 0) return
        // What arrived during the write has waited that long already: a reading's batch wait stays at most
        // max(maxWaitMs, one write), where waiting the full maxWaitMs again after the write made it their sum.
        const left = opts.maxWaitMs - (performance.now() - pendingSince)
        if (pending.readings.length >= opts.maxReadings || left <= 0) kick()
        else if (!timer) timer = setTimeout(kick, left)
      })
  }

  return {
    stats,
    /** Queues one message's outcome; `ack` runs once all of it is stored. */
    add(readings: readonly StoredReading[], rejections: readonly Rejection[], ack: () => void): void {
      if (pending.acks.length === 0) pendingSince = performance.now()
      for (const r of readings) pending.readings.push(r)
      for (const r of rejections) pending.rejections.push(r)
      pending.acks.push(ack)
      if (pending.readings.length >= opts.maxReadings) kick()
      else if (!timer && !writing) timer = setTimeout(kick, opts.maxWaitMs)
    },
    get pendingCount(): number {
      return pending.acks.length
    },
    /** Writes everything queued and waits for it (graceful stop). */
    async flush(): Promise<void> {
      while (writing || pending.acks.length > 0) {
        if (!writing) kick()
        await writing
      }
    },
    /** Starts draining what a previous run left in the spool. */
    start(): void {
      startDrain()
    },
    /** Waits until the spool is empty (tests, graceful stop with storage up). */
    get draining(): Promise<void> | undefined {
      return draining
    },
    /** Stops retrying; what is not stored stays unacknowledged (the broker redelivers it) or spooled. */
    async close(): Promise<void> {
      closed = true
      clearTimeout(timer)
      for (const wake of [...sleepers]) wake()
      await draining
    },
  }
}
export type BatchWriter = ReturnType<typeof createBatchWriter>
