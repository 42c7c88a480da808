import type { Rejection, StoredReading } from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import { StorageError, type ReadingStore } from '@mytho/storage'

/*
 * Collects validated readings and dead letters with the acknowledgements they owe, and writes them
 * in batches (by count and by time). An acknowledgement is released only after its batch is durably
 * stored, so a crash before that leaves the message with the broker, which redelivers it; storage
 * keys points by (deviceId, ts), so the redelivered copy does not become a second point.
 * One write is in flight at a time: while it runs the next batch fills, which batches harder under load.
 */

export interface BatchWriterOptions {
  maxReadings: number
  maxWaitMs: number
  /** Backoff bounds while storage is unavailable, ms. */
  retryMinMs?: number
  retryMaxMs?: number
  /** Called with what was durably stored, after each batch (live push to the API). */
  onStored?: (readings: readonly StoredReading[]) => void
}

interface Pending {
  readings: StoredReading[]
  rejections: Rejection[]
  acks: (() => void)[]
}

const emptyBatch = (): Pending => ({ readings: [], rejections: [], acks: [] })

export function createBatchWriter(store: ReadingStore, opts: BatchWriterOptions, logger: Logger) {
  const retryMin = opts.retryMinMs ?? 100
  const retryMax = opts.retryMaxMs ?? 10_000
  let pending = emptyBatch()
  let timer: NodeJS.Timeout | undefined
  let writing: Promise<void> | undefined
  let closed = false
  let abortRetry: (() => void) | undefined
  const stats = { batches: 0, written: 0, deadLettered: 0, writeErrors: 0, lastBatchSize: 0, storageDown: false }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms)
      abortRetry = () => {
        clearTimeout(t)
        resolve()
      }
    })

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
        const e = err instanceof StorageError ? err : new StorageError(String((err as Error)?.message ?? err), { cause: err, retryable: true })
        if (!e.retryable) return e
        if (!stats.storageDown) logger.warn('storage unavailable; holding acknowledgements and retrying', { what, err: e.message })
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

  async function writeBatch(batch: Pending): Promise<void> {
    stats.lastBatchSize = batch.readings.length
    if (batch.readings.length > 0) {
      const res = await withRetry('readings', () => store.writeReadings(batch.readings))
      if (res === 'closed') return
      if (res === 'ok') {
        stats.written += batch.readings.length
        opts.onStored?.(batch.readings)
      } else if ((await writeOneByOne(batch.readings, batch.rejections)) === 'closed') return
    }
    if (batch.rejections.length > 0) {
      const res = await withRetry('dead letters', () => store.writeDeadLetters(batch.rejections))
      if (res === 'closed') return
      if (res !== 'ok') logger.error('storage refused dead letters; acknowledging anyway so the stream moves', { err: res.message, count: batch.rejections.length })
      else stats.deadLettered += batch.rejections.length
    }
    stats.batches++
    for (const ack of batch.acks) ack()
  }

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
        if (pending.readings.length >= opts.maxReadings) kick()
        else if (pending.acks.length > 0 && !timer) timer = setTimeout(kick, opts.maxWaitMs)
      })
  }

  return {
    stats,
    /** Queues one message's outcome; `ack` runs once all of it is stored. */
    add(readings: readonly StoredReading[], rejections: readonly Rejection[], ack: () => void): void {
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
    /** Stops retrying; what is not stored stays unacknowledged (the broker redelivers it). */
    close(): void {
      closed = true
      clearTimeout(timer)
      abortRetry?.()
    },
  }
}
export type BatchWriter = ReturnType<typeof createBatchWriter>
