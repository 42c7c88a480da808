import { randomUUID } from 'node:crypto'
import { REDRIVE_ORDER_TOPIC, RedriveAnswer, type RedriveRequest, type RedriveResult } from '@mytho/schema'
import { HttpError } from './http-errors.ts'

/*
 * The API's side of a dead-letter re-drive (packages/schema/src/redrive.ts): the API's storage credentials read only,
 * so it asks the ingest on the bus and waits, bounded, for the answer with its order's id. Whatever goes wrong on the
 * way is a 503 or 504 that says which part did not answer, never a 500; the ingest doing it late is harmless (a
 * re-drive stores each reading once and only removes letters it stored), and it leaves an order it gets after the wait.
 */

export interface RedriveClientDeps {
  /** Publishes the API's own message (the live feed's link, QoS 0); false when there is no link to the broker. */
  publish(topic: string, payload: string): Promise<boolean>
  clock: () => number
  /** How long the API waits for the ingest's answer, ms. */
  timeoutMs: number
}

export function createRedriveClient(deps: RedriveClientDeps) {
  const waiting = new Map<string, { resolve(a: RedriveAnswer): void }>()
  return {
    /** An answer as the live feed hears it (every node hears every answer; the one waiting keeps it). */
    onAnswer(payload: Buffer): void {
      let json: unknown
      try {
        json = JSON.parse(payload.toString('utf8'))
      } catch {
        return
      }
      const a = RedriveAnswer.safeParse(json)
      if (a.success) waiting.get(a.data.orderId)?.resolve(a.data)
    },
    /** Asks the ingest to re-drive; its RedriveResult, or an HttpError 503/504 naming what did not answer. */
    async redrive(req: RedriveRequest): Promise<RedriveResult> {
      const orderId = randomUUID()
      const seconds = Math.round(deps.timeoutMs / 100) / 10
      let timer: NodeJS.Timeout | undefined
      const answered = new Promise<RedriveAnswer | undefined>((resolve) => {
        waiting.set(orderId, { resolve })
        timer = setTimeout(() => resolve(undefined), deps.timeoutMs)
      })
      try {
        const order = { orderId, deviceId: req.deviceId, ...(req.ids ? { ids: req.ids } : {}), expiresAt: deps.clock() + deps.timeoutMs }
        if (!(await deps.publish(REDRIVE_ORDER_TOPIC, JSON.stringify(order))))
          throw new HttpError(503, 'the API has no link to the MQTT broker, so the ingest (which re-drives) cannot be asked; try again shortly')
        const answer = await answered
        if (!answer) throw new HttpError(504, `the ingest did not answer the re-drive within ${seconds} s; check that it runs (GET /health), then try again`)
        if (!answer.ok) throw new HttpError(503, `the ingest could not re-drive: ${answer.error}`)
        return answer.result
      } finally {
        clearTimeout(timer)
        waiting.delete(orderId)
      }
    },
  }
}
export type RedriveClient = ReturnType<typeof createRedriveClient>
