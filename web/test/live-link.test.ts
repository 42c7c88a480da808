import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEAD_TILES, launchChromium, mapStats, startPlatform, waitForIndexed, watchPage, type Platform } from './harness.ts'

/*
 * How the map's live link starts (issue #4, first render): the page's entry opens it before the map's code is
 * loaded, with the view in the handshake, and it still works where websockets do not.
 */
const live = (page: Page) =>
  page.waitForFunction(() => (window as unknown as { __mytho?: { stats(): { live: boolean } } }).__mytho?.stats().live === true, undefined, { timeout: 15_000 })

/** A proxy in front of the API that passes plain HTTP and drops every websocket upgrade, as some company proxies do. */
async function proxyWithoutUpgrades(target: string): Promise<{ url: string; upgradesRefused: () => number; close: () => Promise<void> }> {
  const to = new URL(target)
  let refused = 0
  const server: Server = createServer((req, res) => {
    const fwd = request({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    fwd.on('error', () => res.destroy())
    req.pipe(fwd)
  })
  server.on('upgrade', (_req, socket) => {
    refused++
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    upgradesRefused: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

describe('the map’s live link in headless Chromium against the real platform', () => {
  let p: Platform
  let browser: Browser
  beforeAll(async () => {
    ;[p, browser] = await Promise.all([startPlatform(), launchChromium()])
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
  })

  it('sends the deep link’s view in the handshake: the first snapshot comes without a view event, and panning still asks for one', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    const problems = watchPage(page)
    const sent: string[] = []
    page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))))
    await page.goto(p.mapUrl('#lat=10.35500&lon=106.36000&z=13'))
    await live(page)
    const s = await mapStats(page)
    expect(s.devices).toBe(p.registry.size)
    expect(s.drawnPoints + s.clusteredDevices).toBeGreaterThan(0)
    // the handshake (socket.io CONNECT, "40…") carried the view; no separate view event was needed
    const connect = sent.find((f) => f.startsWith('40'))
    expect(JSON.parse(connect!.slice(2))).toMatchObject({ view: { zoom: 13 } })
    expect(sent.filter((f) => f.startsWith('42["view"'))).toEqual([])
    // a view far outside the subscribed one is still asked for with a view event
    await page.evaluate(() =>
      (window as unknown as { __mytho: { map: { setView(c: [number, number], z: number): void } } }).__mytho.map.setView([10.6, 106.9], 15),
    )
    await page.waitForFunction(() => (window as unknown as { __mytho: { stats(): { devices: number } } }).__mytho.stats().devices === 0)
    expect(sent.filter((f) => f.startsWith('42["view"'))).toHaveLength(1)
    expect(problems).toEqual([])
    await page.close()
  })

  it('sends the city view in the handshake when the link has no position: the map framing the fleet needs no view event', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    const problems = watchPage(page)
    const sent: string[] = []
    page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))))
    await page.goto(p.mapUrl())
    await live(page)
    // the first snapshot frames the fleet (fitBounds); wait for the URL to follow it
    await page.waitForFunction(() => location.hash.includes('lat='))
    expect((await mapStats(page)).devices).toBe(p.registry.size)
    expect(sent.some((f) => f.startsWith('40{"view"'))).toBe(true)
    expect(sent.filter((f) => f.startsWith('42["view"'))).toEqual([])
    expect(problems).toEqual([])
    await page.close()
  })

  it('falls back to long-polling when the websocket upgrade is refused, and draws the fleet live', async () => {
    const proxy = await proxyWithoutUpgrades(p.url)
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    // the refused upgrade is logged by Chromium as a console error
    const problems = watchPage(page, /WebSocket/)
    try {
      await page.goto(`${proxy.url}/?tiles=${encodeURIComponent(DEAD_TILES)}`)
      const s = await waitForIndexed(page, p.registry.size)
      expect(s.devices).toBe(p.registry.size)
      expect(proxy.upgradesRefused()).toBeGreaterThan(0)
      expect(await page.locator('#link').textContent()).toBe('Trực tiếp')
      expect(problems).toEqual([])
    } finally {
      await page.close()
      await proxy.close()
    }
  })
})
