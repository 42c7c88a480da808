import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '@mytho/runtime'
import { loadRegistryFile, type Incident, type IncidentChange } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { createZaloNotifier } from './zalo.ts'

const TOKEN = 'oa-access-Tk9xQ2vL7pZr4WmB8sYd'
const REFRESH = 'oa-refresh-Hn3Jk8Qw2Er5Ty7Ui0Op'
const APP_SECRET = 'app-secret-Zx4Cv6Bn8Mq1Wa3Sd5'

const incident = {
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
  peakValue: 165,
  ward: 'my-tho',
  action: { vi: 'Báo Ban chỉ huy PCTT phường, cắm biển cảnh báo đường ngập', en: 'Call the ward flood command, sign flooded roads' },
  raisedAt: Date.UTC(2026, 9, 8, 22, 5),
  updatedAt: Date.UTC(2026, 9, 8, 22, 5),
  acknowledgedAt: null,
  acknowledgedBy: null,
  ackNote: null,
  clearedAt: null,
  closedAt: null,
  events: [],
} as Incident
const change: IncidentChange = { incident, event: { at: Date.UTC(2026, 9, 8, 22, 5), type: 'escalated', level: 3, value: 163 } }

interface Seen {
  path: string
  headers: IncomingMessage['headers']
  body: string
}
/** A stand-in of the OA API on 127.0.0.1: each request is answered by `answer` ([status, JSON body]). */
async function oaStandIn(answer: (req: Seen, n: number) => [number, unknown]) {
  const requests: Seen[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      const seen = { path: req.url ?? '', headers: req.headers, body }
      requests.push(seen)
      const [status, json] = answer(seen, requests.length)
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  servers.push(server)
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server }
}
const servers: Server[] = []
const stops: (() => void)[] = []
afterEach(() => {
  for (const s of stops.splice(0)) s()
  for (const s of servers.splice(0)) s.close()
})

function capturingLogger() {
  const lines: string[] = []
  return { lines, logger: createLogger('debug', {}, (l) => lines.push(l)) }
}
const OK = { error: 0, message: 'Success', data: { message_id: 'm1' } }

describe('Zalo OA channel', () => {
  it('sends the Vietnamese message to each recipient with the token in the access_token header', async () => {
    const oa = await oaStandIn(() => [200, OK])
    const zalo = createZaloNotifier({
      accessToken: TOKEN,
      recipients: ['1234567890', '2345678901'],
      apiUrl: oa.url,
      registry: loadRegistryFile(),
      mapUrl: 'https://map.mytho.example/',
      logger: createLogger('silent'),
    })
    stops.push(zalo.stop)
    zalo.notify(change)
    await waitFor(() => zalo.stats.sent === 2, { what: 'both deliveries' })
    expect(oa.requests.map((r) => [r.path, r.headers.access_token, r.headers['content-type']])).toEqual([
      ['/v3.0/oa/message/cs', TOKEN, 'application/json'],
      ['/v3.0/oa/message/cs', TOKEN, 'application/json'],
    ])
    const bodies = oa.requests.map((r) => JSON.parse(r.body) as { recipient: { user_id: string }; message: { text: string } })
    expect(bodies.map((b) => b.recipient.user_id).sort()).toEqual(['1234567890', '2345678901'])
    expect(bodies[0]!.message.text).toMatchInlineSnapshot(`
      "[TĂNG MỨC] Ngập do triều cường / lũ: Báo động III
      Thiết bị: Mực nước trạm thủy văn Mỹ Tho (sông Tiền)
      Phường: Mỹ Tho
      Mức: nghiêm trọng (cấp 3)
      Giá trị: 163 cm (cao nhất 165 cm)
      Lúc: 05:05 09/10/2026 (giờ Việt Nam)
      Cần làm: Báo Ban chỉ huy PCTT phường, cắm biển cảnh báo đường ngập
      Bản đồ: https://map.mytho.example/#lat=10.35150&lon=106.36450&z=17&d=wl-hydro-station"
    `)
  })

  it('an invalid-token answer (error -216 in a 200) is not retried, is said once without the token, and never blocks notify', async () => {
    const oa = await oaStandIn(() => [200, { error: -216, message: 'Access token is invalid' }])
    const { lines, logger } = capturingLogger()
    const zalo = createZaloNotifier({ accessToken: TOKEN, recipients: ['1234567890'], apiUrl: oa.url, logger, retryMinMs: 10 })
    stops.push(zalo.stop)
    for (let i = 0; i < 3; i++) zalo.notify(change)
    // notify only queues: the engine's onChange returns before any request is answered.
    expect(oa.requests).toHaveLength(0)
    await waitFor(() => zalo.stats.failed === 3, { what: 'three deliveries given up' })
    expect(oa.requests).toHaveLength(3)
    expect(zalo.stats.retries).toBe(0)
    const said = lines.filter((l) => l.includes('ZALO_OA_ACCESS_TOKEN is renewed'))
    expect(said).toHaveLength(1)
    expect(JSON.parse(said[0]!)).toMatchObject({ level: 'error', error: -216 })
    expect(lines.join('\n')).not.toContain(TOKEN)
  })

  it('a 5xx and an unreachable OA are retried with backoff until delivered; the token stays out of the log', async () => {
    const oa = await oaStandIn((_, n) => (n === 1 ? [503, {}] : [200, OK]))
    const { lines, logger } = capturingLogger()
    const down = await oaStandIn(() => [200, OK])
    const downUrl = down.url
    await new Promise<void>((r) => down.server.close(() => r()))
    const dead = createZaloNotifier({ accessToken: TOKEN, recipients: ['1234567890'], apiUrl: downUrl, logger, retryMinMs: 10 })
    const zalo = createZaloNotifier({ accessToken: TOKEN, recipients: ['1234567890'], apiUrl: oa.url, logger, retryMinMs: 10 })
    stops.push(dead.stop, zalo.stop)
    dead.notify(change)
    zalo.notify(change)
    await waitFor(() => zalo.stats.sent === 1 && dead.stats.retries >= 2, { what: 'delivery after a 503 and retries of the dead OA' })
    expect(oa.requests).toHaveLength(2)
    expect(dead.stats.sent).toBe(0)
    expect(lines.some((l) => l.includes('zalo unreachable'))).toBe(true)
    expect(lines.join('\n')).not.toContain(TOKEN)
  })

  it('renews an expired token with the refresh token, keeps the new pair on disk, and goes on with it after a restart', async () => {
    const NEW_ACCESS = 'oa-access-new-Rt5Yu7Io9Pa2Sd4F'
    const NEW_REFRESH = 'oa-refresh-new-Gh6Jk8Lz1Xc3Vb5N'
    const oa = await oaStandIn((r) => {
      if (r.path === '/v4/oa/access_token') return [200, { access_token: NEW_ACCESS, refresh_token: NEW_REFRESH, expires_in: '90000' }]
      return r.headers.access_token === NEW_ACCESS ? [200, OK] : [200, { error: -216, message: 'Access token is invalid' }]
    })
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'zalo-')), 'secrets', 'zalo-oa-tokens.json')
    const { lines, logger } = capturingLogger()
    const options = {
      accessToken: TOKEN,
      recipients: ['1234567890'],
      apiUrl: oa.url,
      refresh: { appId: '4291763606161179100', appSecret: APP_SECRET, refreshToken: REFRESH, oauthUrl: oa.url, tokenFile },
      logger,
      retryMinMs: 10,
    }
    const zalo = createZaloNotifier(options)
    stops.push(zalo.stop)
    zalo.notify(change)
    await waitFor(() => zalo.stats.sent === 1, { what: 'delivery after the refresh' })
    const refresh = oa.requests.find((r) => r.path === '/v4/oa/access_token')!
    expect(refresh.headers.secret_key).toBe(APP_SECRET)
    expect(Object.fromEntries(new URLSearchParams(refresh.body))).toEqual({
      refresh_token: REFRESH,
      app_id: '4291763606161179100',
      grant_type: 'refresh_token',
    })
    expect(readFileSync(tokenFile, 'utf8')).toContain(NEW_REFRESH)
    zalo.stop()

    // A restart with the same environment: the used refresh token is not sent again, the saved access token is used.
    const before = oa.requests.length
    const again = createZaloNotifier(options)
    stops.push(again.stop)
    again.notify(change)
    await waitFor(() => again.stats.sent === 1, { what: 'delivery after a restart' })
    expect(oa.requests.slice(before).map((r) => [r.path, r.headers.access_token])).toEqual([['/v3.0/oa/message/cs', NEW_ACCESS]])
    for (const secret of [TOKEN, REFRESH, APP_SECRET, NEW_ACCESS, NEW_REFRESH]) expect(lines.join('\n')).not.toContain(secret)
  })
})
