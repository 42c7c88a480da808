import type { Aedes } from 'aedes'
import type { Logger } from '@mytho/runtime'
import { PipelineHealth, PLATFORM_HEALTH_TOPIC } from '@mytho/schema'

/*
 * Backpressure that reaches the devices. Aedes acknowledges a device's publish once the message is queued for
 * the ingest, so when the ingest's spool is full (its health says `blocked`) the broker's queue would grow
 * without bound. While blocked, device readings wait here before they are authorized: Aedes stops reading that
 * connection until the callback runs, so no PUBACK goes out, the device's own MQTT queue holds its readings and
 * TCP flow control does the rest. At most one read chunk per connection waits, so memory stays bounded.
 * `down` (the ingest is gone) does not block: the broker's on-disk queue is exactly what a restart needs.
 */
export function createPipelineGate(deps: { logger: Logger }) {
  let blocked = false
  let waiting: (() => void)[] = []
  const stats = { held: 0, released: 0, blockedSince: null as number | null }

  const setBlocked = (b: boolean) => {
    if (b === blocked) return
    blocked = b
    stats.blockedSince = b ? Date.now() : null
    deps.logger.warn(b ? 'pipeline blocked: holding device readings (no PUBACK) until the ingest drains' : 'pipeline unblocked: releasing held readings', {
      held: waiting.length,
    })
    if (!b) {
      const release = waiting
      waiting = []
      stats.released += release.length
      for (const go of release) go()
    }
  }

  return {
    stats,
    get blocked() {
      return blocked
    },
    /** Runs `go` now, or once the pipeline is no longer blocked. */
    hold(go: () => void): void {
      if (!blocked) {
        go()
        return
      }
      stats.held++
      waiting.push(go)
    },
    /** Follows the ingest's retained health message, subscribed inside Aedes (no network hop). */
    listen(aedes: Aedes): Promise<void> {
      return new Promise((resolve) => {
        aedes.subscribe(
          PLATFORM_HEALTH_TOPIC,
          (packet, done) => {
            let parsed: ReturnType<typeof PipelineHealth.safeParse> | undefined
            try {
              parsed = PipelineHealth.safeParse(JSON.parse(Buffer.from(packet.payload).toString('utf8')))
            } catch {
              parsed = undefined
            }
            if (parsed?.success) setBlocked(parsed.data.status === 'blocked')
            done()
          },
          () => resolve(),
        )
      })
    },
    /** Lets everything go (broker stopping). */
    releaseAll: () => setBlocked(false),
  }
}
export type PipelineGate = ReturnType<typeof createPipelineGate>
