import type { Logger } from '@mytho/runtime'
import type { DeviceRegistry, IncidentChange } from '@mytho/schema'
import { createDeliveryQueue, DeliveryError } from './delivery-queue.ts'
import { formatIncidentMessage, type Language } from './templates.ts'

/** Sends incident messages to a Telegram chat through the Bot API's sendMessage (429 honours retry_after). */
export function createTelegramNotifier(o: {
  token: string
  chatId: string
  language: Language
  apiUrl?: string
  registry?: DeviceRegistry
  logger: Logger
  retryMinMs?: number
}) {
  const url = `${(o.apiUrl ?? 'https://api.telegram.org').replace(/\/$/, '')}/bot${o.token}/sendMessage`
  const queue = createDeliveryQueue({
    name: 'telegram',
    logger: o.logger,
    ...(o.retryMinMs !== undefined ? { retryMinMs: o.retryMinMs } : {}),
    send: async (body) => {
      let res: Response
      try {
        res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) })
      } catch (err) {
        throw new DeliveryError(`telegram unreachable: ${(err as Error).message}`, true)
      }
      const answer = (await res.json().catch(() => ({}))) as { ok?: boolean; description?: string; parameters?: { retry_after?: number } }
      if (res.ok && answer.ok !== false) return
      const retryAfter = answer.parameters?.retry_after
      throw new DeliveryError(
        `telegram answered ${res.status}: ${answer.description ?? ''}`,
        res.status >= 500 || res.status === 429,
        retryAfter !== undefined ? retryAfter * 1000 : undefined,
      )
    },
  })
  return {
    stats: queue.stats,
    notify(change: IncidentChange): void {
      queue.enqueue(JSON.stringify({ chat_id: o.chatId, text: formatIncidentMessage(change, o.language, o.registry), disable_web_page_preview: true }))
    },
    stop: () => queue.stop(),
  }
}
