import {
  REDRIVE_ANSWER_TOPIC,
  REDRIVE_MAX,
  REDRIVE_MESSAGE_MAX,
  RedriveOrder,
  validateMessage,
  type DeviceRegistry,
  type RedriveAnswer,
  type RedriveResult,
  type Rejection,
  type StoredReading,
} from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import type { ReadingStore } from '@mytho/storage'
import type { IncomingMessage } from './mqtt-session.ts'

/*
 * The ingest's side of a dead-letter re-drive (packages/schema/src/redrive.ts): the API asks, the writer does it. A
 * provisioned device's unknown_device letters run through validateMessage against this ingest's registry (re-read
 * first, so a device provisioned a moment ago is in it); the readings go through the store's writeReadings, which
 * keeps one reading per device and ts, so a reading stored by an earlier re-drive is not stored twice. Letters whose
 * readings are all stored are removed (deleteDeadLetters: a DELETE, or a tombstone where the server has none); the
 * rest stay and are answered with today's reason.
 */

export interface RedriverDeps {
  store: ReadingStore
  registry: DeviceRegistry
  /** Re-reads the device directory into `registry` (the provisioned registry's resync); without it the registry is used as it is. */
  resyncRegistry?: (() => Promise<void>) | undefined
  /**
   * With several workers, whether this one owns the device now (its partition's lease): every worker hears every
   * order, the owner alone acts. Default: this ingest is the only one.
   */
  owns?: ((deviceId: string) => boolean) | undefined
  publish(topic: string, payload: string): void
  clock: () => number
  logger: Logger
}

/** Orders already taken: a worker holding several partitions hears an order once per partition session. */
const SEEN_MAX = 1000

export function createRedriver(deps: RedriverDeps) {
  const { store, registry, clock, logger: log } = deps
  const seen = new Set<string>()
  // One at a time: two operators re-driving the same device must not both count the same letters.
  let chain: Promise<void> = Promise.resolve()
  const stats = { orders: 0, answered: 0, failed: 0, ignored: 0, leftToOwner: 0 }

  async function redrive(order: RedriveOrder): Promise<RedriveResult> {
    await deps.resyncRegistry?.().catch((err: unknown) => log.warn('re-reading the registry before a re-drive failed', { err: (err as Error).message }))
    const all = await store.deadLetters({ deviceId: order.deviceId, code: 'unknown_device', limit: REDRIVE_MAX })
    const wanted = order.ids === undefined ? undefined : new Set(order.ids)
    const letters = all.filter((l): l is Rejection & { id: string } => l.id !== undefined && (wanted === undefined || wanted.has(l.id)))

    const readings: StoredReading[] = []
    const failedIds = new Set<string>()
    const passedIds = new Set<string>()
    const stillRejected: RedriveResult['stillRejected'] = []
    for (const letter of letters) {
      const out = validateMessage(letter.topic, Buffer.from(letter.raw, 'utf8'), letter.receivedAt, registry)
      const rejection = out.rejections[0]
      if (rejection || out.readings.length === 0) {
        failedIds.add(letter.id)
        const message = rejection?.message ?? 'no reading in the message'
        stillRejected.push({
          id: letter.id,
          reason: rejection?.code ?? 'invalid_reading',
          message: message.length > REDRIVE_MESSAGE_MAX ? `${message.slice(0, REDRIVE_MESSAGE_MAX - 1)}…` : message,
        })
        continue
      }
      readings.push(...out.readings)
      passedIds.add(letter.id)
    }
    if (readings.length > 0) await store.writeReadings(readings)
    // An id several letters share (InfluxDB's slot) goes only when every one of them was stored.
    const done = [...passedIds].filter((id) => !failedIds.has(id))
    const removed = done.length > 0 ? await store.deleteDeadLetters(done) : 0
    return { redriven: removed, stored: readings.length, stillRejected }
  }

  const answer = (a: RedriveAnswer) => deps.publish(REDRIVE_ANSWER_TOPIC, JSON.stringify(a))

  return {
    stats,
    /** An order as the session delivers it (QoS 0: nothing to acknowledge but the session's bookkeeping). */
    onOrder(msg: IncomingMessage): void {
      msg.ack()
      let order: RedriveOrder
      try {
        const parsed = RedriveOrder.safeParse(JSON.parse(msg.payload.toString('utf8')))
        if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'invalid')
        order = parsed.data
      } catch (err) {
        stats.ignored++
        log.warn('bad re-drive order ignored', { err: (err as Error).message })
        return
      }
      if (seen.has(order.orderId)) return
      if (deps.owns && !deps.owns(order.deviceId)) {
        stats.leftToOwner++
        return
      }
      if (clock() > order.expiresAt) {
        stats.ignored++
        log.info('re-drive order came after the API stopped waiting; left', { deviceId: order.deviceId })
        return
      }
      if (seen.size >= SEEN_MAX) seen.clear()
      seen.add(order.orderId)
      stats.orders++
      chain = chain.then(async () => {
        try {
          const result = await redrive(order)
          stats.answered++
          log.info('re-drive done', { deviceId: order.deviceId, redriven: result.redriven, stored: result.stored, stillRejected: result.stillRejected.length })
          answer({ orderId: order.orderId, ok: true, result })
        } catch (err) {
          stats.failed++
          const text = String((err as Error)?.message ?? err).slice(0, 400)
          log.warn('re-drive failed', { deviceId: order.deviceId, err: text })
          answer({ orderId: order.orderId, ok: false, error: text })
        }
      })
    },
    /** Resolves when the orders taken so far are done (graceful stop). */
    settled: (): Promise<void> => chain,
  }
}
export type Redriver = ReturnType<typeof createRedriver>
