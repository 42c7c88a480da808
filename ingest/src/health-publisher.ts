import { PLATFORM_HEALTH_TOPIC, type PipelineHealth } from '@mytho/schema'
import type { createHealth } from './health.ts'

/**
 * Announces the pipeline's health, retained, on PLATFORM_HEALTH_TOPIC: a status change at once (checked every
 * 500 ms, or every interval if shorter), the full message every `intervalMs` (INGEST_HEALTH_INTERVAL_MS).
 */
export function createHealthPublisher(
  health: ReturnType<typeof createHealth>,
  publish: (topic: string, payload: string, retain: boolean) => void,
  intervalMs: number,
) {
  let timer: NodeJS.Timeout | undefined
  let last: PipelineHealth = health.snapshot().health
  function publishNow(): void {
    const { health: h } = health.snapshot()
    last = h
    publish(PLATFORM_HEALTH_TOPIC, JSON.stringify(h), true)
  }
  const watch = () => {
    const { changed } = health.snapshot()
    if (changed) publishNow()
  }
  return {
    /** The latest announced health. */
    get last(): PipelineHealth {
      return last
    },
    publishNow,
    /** Announces now, then keeps announcing until stop(). */
    start(): void {
      publishNow()
      let ticks = 0
      const checkMs = Math.min(500, intervalMs)
      timer = setInterval(() => {
        ticks++
        if (ticks * checkMs >= intervalMs) {
          ticks = 0
          publishNow()
        } else watch()
      }, checkMs)
      timer.unref()
    },
    stop(): void {
      clearInterval(timer)
    },
  }
}
