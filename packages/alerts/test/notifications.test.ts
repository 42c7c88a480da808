import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { loadRegistryFile, type Incident, type IncidentChange } from '@mytho/schema'
import { silentLogger } from '@mytho/runtime'
import { waitFor } from '@mytho/testing'
import { createTelegramNotifier, createWebhookNotifier, formatIncidentMessage, signBody, SIGNATURE_HEADER } from '../src/index.ts'

const incident: Incident = {
  id: 'inc-1',
  ruleId: 'flood',
  subject: 'wl-hydro-station',
  subjectType: 'device',
  deviceIds: ['wl-hydro-station'],
  kind: 'water_level',
  level: 3,
  peakLevel: 3,
  severity: 'critical',
  title: { vi: 'Ngập do triều cường / lũ: Báo động III', en: 'Flood (high water): Alarm level III' },
  state: 'open',
  metric: 'waterLevelCm',
  lastValue: 163,
  peakValue: 163,
  ward: null,
  action: null,
  raisedAt: Date.UTC(2026, 9, 8, 22, 5),
  updatedAt: Date.UTC(2026, 9, 8, 22, 5),
  acknowledgedAt: null,
  acknowledgedBy: null,
  ackNote: null,
  clearedAt: null,
  closedAt: null,
  events: [],
}
const change: IncidentChange = { incident, event: { at: Date.UTC(2026, 9, 8, 22, 5), type: 'raised', level: 3, value: 163 } }

/** A real HTTP receiver on 127.0.0.1 that answers with the given statuses in turn. */
async function receiver(statuses: number[]): Promise<{ url: string; requests: { headers: IncomingMessage['headers']; body: string }[]; server: Server }> {
  const requests: { headers: IncomingMessage['headers']; body: string }[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      requests.push({ headers: req.headers, body })
      res.statusCode = statuses[Math.min(requests.length - 1, statuses.length - 1)]!
      if (res.statusCode === 429) res.setHeader('retry-after', '0')
      res.end(res.statusCode === 200 ? '{"ok":true}' : '{"ok":false,"description":"busy"}')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  servers.push(server)
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server }
}
const servers: Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

describe('notifications', () => {
  it('webhook: signed JSON, retried with backoff after a 503 until it is taken', async () => {
    const r = await receiver([503, 503, 200])
    const hook = createWebhookNotifier({ url: `${r.url}/hook`, secret: 's3cret', logger: silentLogger, retryMinMs: 10 })
    hook.notify(change)
    await waitFor(() => hook.stats.sent === 1, { what: 'delivery' })
    expect(r.requests).toHaveLength(3)
    const last = r.requests[2]!
    expect(last.headers[SIGNATURE_HEADER]).toBe(signBody(last.body, 's3cret'))
    expect(JSON.parse(last.body)).toMatchObject({ type: 'incident.raised', incident: { id: 'inc-1', severity: 'critical' } })
    expect(hook.stats.retries).toBe(2)
    hook.stop()
  })

  it('webhook: a 4xx is not retried', async () => {
    const r = await receiver([400])
    const hook = createWebhookNotifier({ url: r.url, secret: 'x', logger: silentLogger, retryMinMs: 10 })
    hook.notify(change)
    await waitFor(() => hook.stats.failed === 1, { what: 'giving up' })
    expect(r.requests).toHaveLength(1)
    hook.stop()
  })

  it('telegram: sends the Vietnamese message to the chat and honours 429 retry_after', async () => {
    const r = await receiver([429, 200])
    const tg = createTelegramNotifier({
      token: '123:abc',
      chatId: '-100',
      language: 'vi',
      apiUrl: r.url,
      registry: loadRegistryFile(),
      logger: silentLogger,
      retryMinMs: 10,
    })
    tg.notify(change)
    await waitFor(() => tg.stats.sent === 1, { what: 'telegram delivery' })
    const body = JSON.parse(r.requests[1]!.body) as { chat_id: string; text: string }
    expect(body.chat_id).toBe('-100')
    expect(body.text).toBe(formatIncidentMessage(change, 'vi', loadRegistryFile()))
    tg.stop()
  })

  it('templates speak Vietnamese and English with local time', () => {
    expect(formatIncidentMessage(change, 'vi', loadRegistryFile())).toMatchInlineSnapshot(`
      "[CẢNH BÁO MỚI] Ngập do triều cường / lũ: Báo động III (nghiêm trọng)
      Thiết bị: Mực nước trạm thủy văn Mỹ Tho (sông Tiền)
      Giá trị: 163 (waterLevelCm)
      Lúc: 05:05 9/10/26 (UTC+7)"
    `)
    expect(formatIncidentMessage(change, 'en', loadRegistryFile())).toMatchInlineSnapshot(`
      "[NEW ALERT] Flood (high water): Alarm level III (critical)
      Device: Water level My Tho hydrological station (Tien River)
      Value: 163 (waterLevelCm)
      At: 09/10/2026, 05:05 (UTC+7)"
    `)
  })
})
