import type { Logger } from '@mytho/runtime'

/*
 * Deliveries to the outside world (webhook, Telegram) run off the ingest's path: enqueue returns at once,
 * a bounded queue retries each delivery with exponential backoff, and when the queue is full the oldest
 * delivery is dropped and counted, never the ingest slowed.
 */
export interface DeliveryQueueOptions {
  name: string
  send: (body: string) => Promise<void>
  maxQueued?: number
  maxAttempts?: number
  retryMinMs?: number
  retryMaxMs?: number
  logger: Logger
}

export class DeliveryError extends Error {
  override name = 'DeliveryError'
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message)
  }
}

export function createDeliveryQueue(o: DeliveryQueueOptions) {
  const maxQueued = o.maxQueued ?? 1000
  const maxAttempts = o.maxAttempts ?? 8
  const minMs = o.retryMinMs ?? 500
  const maxMs = o.retryMaxMs ?? 60_000
  const queue: { body: string; attempts: number }[] = []
  const stats = { sent: 0, failed: 0, dropped: 0, retries: 0 }
  let running = false
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let wake: (() => void) | undefined

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms)
      wake = () => (clearTimeout(timer), resolve())
    })

  async function drain(): Promise<void> {
    if (running) return
    running = true
    try {
      while (!stopped && queue.length > 0) {
        const item = queue[0]!
        try {
          await o.send(item.body)
          queue.shift()
          stats.sent++
        } catch (err) {
          item.attempts++
          const e = err instanceof DeliveryError ? err : new DeliveryError((err as Error).message, true)
          if (!e.retryable || item.attempts >= maxAttempts) {
            queue.shift()
            stats.failed++
            o.logger.error(`${o.name} delivery failed for good`, { err: e.message, attempts: item.attempts })
            continue
          }
          stats.retries++
          o.logger.warn(`${o.name} delivery failed; retrying`, { err: e.message, attempts: item.attempts })
          await sleep(e.retryAfterMs ?? Math.min(maxMs, minMs * 2 ** (item.attempts - 1)))
        }
      }
    } finally {
      running = false
    }
  }

  return {
    stats,
    get queued() {
      return queue.length
    },
    enqueue(body: string): void {
      if (stopped) return
      if (queue.length >= maxQueued) {
        queue.splice(1, 1) // keep the one in flight
        stats.dropped++
      }
      queue.push({ body, attempts: 0 })
      void drain()
    },
    stop(): void {
      stopped = true
      wake?.()
    },
  }
}
