import type { Aedes, Client } from 'aedes'
import type { Logger } from '@mytho/runtime'
import { REGISTRY_NOTICE_TOPIC, RegistryNotice } from '@mytho/directory'
import { principalOf } from './principal.ts'

/*
 * The broker's side of the registry notices (topic and shape: @mytho/directory registry-notices.ts): the API
 * writes the metadata store, then tells the broker, which drops the device's live connections at once.
 */

/** Closes every connection authenticated as `deviceId`; returns how many. */
export function dropDevice(aedes: Aedes, deviceId: string): number {
  let dropped = 0
  // Aedes keeps connected clients by id in `clients` (untyped in its .d.ts).
  for (const client of Object.values((aedes as unknown as { clients: Record<string, Client> }).clients)) {
    const p = principalOf(client)
    if (p?.kind === 'device' && p.deviceId === deviceId) {
      client.close()
      dropped++
    }
  }
  return dropped
}

/** Subscribes inside Aedes (no network hop); resolves once the subscription is in place. */
export function listenForRegistryNotices(aedes: Aedes, deps: { logger: Logger; onNotice?: (n: RegistryNotice, dropped: number) => void }): Promise<void> {
  return new Promise((resolve) => {
    aedes.subscribe(
      REGISTRY_NOTICE_TOPIC,
      (packet, done) => {
        let parsed: ReturnType<typeof RegistryNotice.safeParse> | undefined
        try {
          parsed = RegistryNotice.safeParse(JSON.parse(Buffer.from(packet.payload).toString('utf8')))
        } catch {
          parsed = undefined
        }
        if (!parsed?.success) {
          deps.logger.warn('ignored a malformed registry notice', { topic: packet.topic })
          return done()
        }
        const n = parsed.data
        // A rotated secret ends the session that logged in with the old one, as a disabled device's does.
        const dropped = n.op === 'disabled' || n.op === 'rotated' ? dropDevice(aedes, n.deviceId) : 0
        deps.logger.info('registry notice', { op: n.op, deviceId: n.deviceId, dropped })
        deps.onNotice?.(n, dropped)
        done()
      },
      () => resolve(),
    )
  })
}
