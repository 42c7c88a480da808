import { z } from 'zod'
import { REDRIVE_MAX, RedriveResult } from './rejection.ts'
import { PLATFORM_ROOT } from './topics.ts'

/*
 * A re-drive is done by the writer (issue #19: the API's storage credentials read only). The API asks on the bus, the
 * ingest that owns the device answers; the broker lets only svc-api publish an order and only svc-ingest answer
 * (broker/src/authorize.ts), so a device cannot order one or fake an answer.
 *   mytho/v1/platform/redrive/order   API → ingest, QoS 0: a RedriveOrder (not queued for an ingest that is away:
 *                                     the API has stopped waiting by then)
 *   mytho/v1/platform/redrive/answer  ingest → API, QoS 0: a RedriveAnswer with the order's id (every API node
 *                                     hears every answer and keeps the ones it waits for)
 */
export const REDRIVE_ORDER_TOPIC = `${PLATFORM_ROOT}/redrive/order`
export const REDRIVE_ANSWER_TOPIC = `${PLATFORM_ROOT}/redrive/answer`

/** Longest stillRejected message in an answer: 1,000 of them stay well under the broker's packet limit. */
export const REDRIVE_MESSAGE_MAX = 160

export const RedriveOrder = z.strictObject({
  /** Chosen by the asking API node; the answer carries it back. */
  orderId: z.string().min(8).max(64),
  deviceId: z.string().min(1).max(64),
  ids: z.array(z.string().min(1).max(100)).min(1).max(REDRIVE_MAX).optional(),
  /** Epoch ms after which the API no longer waits: an ingest that gets the order later leaves it (hosts' clocks agree, as rxTs needs). */
  expiresAt: z.number().int().nonnegative(),
})
export type RedriveOrder = z.infer<typeof RedriveOrder>

export const RedriveAnswer = z.discriminatedUnion('ok', [
  z.strictObject({ orderId: z.string(), ok: z.literal(true), result: RedriveResult }),
  /** The ingest could not do it (storage down or refusing); `error` says why, for the operator. */
  z.strictObject({ orderId: z.string(), ok: z.literal(false), error: z.string().max(500) }),
])
export type RedriveAnswer = z.infer<typeof RedriveAnswer>
