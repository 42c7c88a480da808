import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CITY_BOUNDS } from '@mytho/schema'
import { makeTempDir, pngTile, tileOf, writeMbtiles } from '@mytho/testing'
import { launchChromium, startPlatform, waitForIndexed, watchPage, type Platform } from './harness.ts'

/*
 * Issue #21: a map that knows its geography without the internet. The platform serves a basemap file made here (an
 * MBTiles of PNG tiles over the city) and an overlay folder (a test ward with its name, a canal shown on demand); the
 * browser may reach nothing but the platform's own origin.
 */

const WARD = 'Phường Thử Nghiệm Trung Tâm'
const TILE_ZOOMS = [11, 12, 13, 14, 15]
const BLUE: [number, number, number] = [120, 170, 220]

/** Every tile over the city's box at the given zooms (what the first view and a zoom step ask for). */
function cityTiles() {
  const tiles: { z: number; x: number; y: number; data: Buffer }[] = []
  for (const z of TILE_ZOOMS) {
    const data = pngTile(BLUE.map((c) => c - z * 4) as [number, number, number])
    const nw = tileOf(CITY_BOUNDS.north + 0.05, CITY_BOUNDS.west - 0.05, z)
    const se = tileOf(CITY_BOUNDS.south - 0.05, CITY_BOUNDS.east + 0.05, z)
    for (let x = nw.x; x <= se.x; x++) for (let y = nw.y; y <= se.y; y++) tiles.push({ z, x, y, data })
  }
  return tiles
}

function writeGeography(dir: string) {
  const basemap = join(dir, 'city.mbtiles')
  const b = CITY_BOUNDS
  writeMbtiles(basemap, cityTiles(), {
    name: 'test basemap',
    format: 'png',
    minzoom: String(TILE_ZOOMS[0]),
    maxzoom: String(TILE_ZOOMS.at(-1)),
    bounds: `${b.west - 0.05},${b.south - 0.05},${b.east + 0.05},${b.north + 0.05}`,
    attribution: '© OpenStreetMap contributors',
  })
  const overlays = join(dir, 'overlays')
  mkdirSync(overlays)
  // a square around the centre of Phường Mỹ Tho, where most of the seed fleet's devices are clustered
  const [w, s, e, n] = [106.345, 10.345, 106.378, 10.367]
  const square = [
    [w, s],
    [e, s],
    [e, n],
    [w, n],
    [w, s],
  ]
  writeFileSync(
    join(overlays, 'wards.geojson'),
    JSON.stringify({
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: { name: WARD }, geometry: { type: 'Polygon', coordinates: [square] } }],
    }),
  )
  writeFileSync(
    join(overlays, 'wards.layer.json'),
    JSON.stringify({
      name: { vi: 'Ranh giới phường (thử)', en: 'Ward boundaries (test)' },
      group: 'boundaries',
      style: { color: '#7a3b8f', weight: 3, dash: '6 4' },
      labelProperty: 'name',
      source: 'drawn for this test',
      licence: 'CC0',
      attribution: 'Test wards <CC0>',
    }),
  )
  // its middle, where its label goes, is the ward square's centre
  const line = [
    [106.3015, 10.386],
    [106.4215, 10.326],
  ]
  writeFileSync(
    join(overlays, 'canals.geojson'),
    JSON.stringify({
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: { name: 'Kênh thử' }, geometry: { type: 'LineString', coordinates: line } }],
    }),
  )
  writeFileSync(
    join(overlays, 'canals.layer.json'),
    JSON.stringify({
      name: { vi: 'Kênh rạch (thử)', en: 'Canals (test)' },
      group: 'water',
      defaultOn: false,
      style: { color: '#1f78b4', weight: 4 },
      labelProperty: 'name',
      source: 'drawn for this test',
      licence: 'CC0',
      attribution: 'Test canals',
    }),
  )
  return { basemap, overlays }
}

/** Every request that did not go to the platform's own origin, refused: the operations room without internet. */
async function offline(page: Page, origin: string): Promise<string[]> {
  const blocked: string[] = []
  await page.route('**/*', (route) => {
    const url = route.request().url()
    if (url.startsWith(`${origin}/`) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue()
    blocked.push(url)
    return route.abort('internetdisconnected')
  })
  return blocked
}

/** The basemap's tiles Leaflet has finished loading: their URL and the image's own width. */
const loadedTiles = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLImageElement>('.basemap-tiles img.leaflet-tile-loaded')].map((i) => ({ src: i.src, width: i.naturalWidth })),
  )

describe('the map draws the city’s own basemap file and overlays with the network off', () => {
  const tmp = makeTempDir('mytho-web-geography-')
  let p: Platform
  let browser: Browser
  beforeAll(async () => {
    const files = writeGeography(tmp.path)
    ;[p, browser] = await Promise.all([startPlatform({ apiConfig: { MAP_BASEMAP_FILE: files.basemap, MAP_OVERLAYS_DIR: files.overlays } }), launchChromium()])
  })
  afterAll(async () => {
    await browser?.close()
    await p?.stop()
    tmp.cleanup()
  })

  it('draws tiles from the local file, the ward overlay with its label above the cluster bubbles, and toggles it', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
    const problems = watchPage(page)
    const blocked = await offline(page, p.url)
    await page.goto(`${p.url}/`)
    await waitForIndexed(page, p.registry.size)

    await page.waitForFunction(() => document.querySelectorAll('.basemap-tiles img.leaflet-tile-loaded').length >= 4)
    const tiles = await loadedTiles(page)
    expect(tiles.every((t) => t.src.startsWith(`${p.url}/api/v1/basemap/`) && t.width === 256)).toBe(true)
    // the online tile server (OpenStreetMap by default) is not even asked
    expect(blocked).toEqual([])
    await expect(page.locator('.leaflet-control-attribution').textContent()).resolves.toContain('© OpenStreetMap contributors')

    // the overlay: its outline under the devices, its label, its attribution (as text), its check box
    const label = page.locator('.overlay-label', { hasText: WARD })
    await label.waitFor()
    expect(await page.locator('path.overlay-wards').count()).toBe(1)
    expect(await page.locator('path.overlay-wards').getAttribute('stroke-dasharray')).toBe('6 4')
    await expect(page.locator('.leaflet-control-attribution').textContent()).resolves.toContain('Test wards <CC0>')
    // the ward outline brings its own names: the built-in ward points step aside
    expect(await page.locator('.ward-label').first().isVisible()).toBe(false)

    // Labels never take the pointer (a click reaches the cluster under it), so elementFromPoint would pass them over:
    // here they are made hit-testable to ask the page what is painted on top where the label and the devices overlap.
    await page.addStyleTag({ content: '.map-label { pointer-events: auto !important; }' })
    const onTop = await page.evaluate(() => {
      const el = [...document.querySelectorAll<HTMLElement>('.overlay-label')][0]!
      const canvas = document.querySelector<HTMLCanvasElement>('.leaflet-overlay-pane canvas')!
      const r = el.getBoundingClientRect()
      const c = canvas.getBoundingClientRect()
      const scale = canvas.width / c.width
      const ctx = canvas.getContext('2d')!
      let underDevices = 0
      let labelWins = 0
      for (let x = Math.ceil(r.left) + 1; x < r.right - 1; x += 2)
        for (let y = Math.ceil(r.top) + 1; y < r.bottom - 1; y += 2) {
          const alpha = ctx.getImageData(Math.round((x - c.left) * scale), Math.round((y - c.top) * scale), 1, 1).data[3]!
          if (alpha < 200) continue
          underDevices++
          if (document.elementFromPoint(x, y) === el) labelWins++
        }
      const centre = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)
      return { underDevices, labelWins, centreIsLabel: centre === el }
    })
    expect(onTop.centreIsLabel).toBe(true)
    // a cluster bubble or marker is drawn under the label, and wherever it is, the label is painted above it
    expect(onTop.underDevices).toBeGreaterThan(0)
    expect(onTop.labelWins).toBe(onTop.underDevices)

    // the canal is off until asked for
    expect(await page.locator('path.overlay-canals').count()).toBe(0)
    await page.locator('input[name="overlay:canals"]').check()
    await page.locator('path.overlay-canals').waitFor()
    // its label falls on the ward's name: the ward's name stays, the canal's gives way until there is room
    const canalLabel = page.locator('.overlay-label[data-overlay="canals"]')
    await page.waitForFunction(() => document.querySelector('.overlay-label[data-overlay="canals"]')?.classList.contains('label-crowded'), undefined, {
      timeout: 5_000,
    })
    expect(await label.isVisible()).toBe(true)

    // toggled off: outline, label and attribution go; the built-in ward names come back
    const wards = page.locator('input[name="overlay:wards"]')
    expect(await wards.isChecked()).toBe(true)
    await wards.uncheck()
    expect(await page.locator('path.overlay-wards').count()).toBe(0)
    expect(await label.count()).toBe(0)
    await expect(page.locator('.leaflet-control-attribution').textContent()).resolves.not.toContain('Test wards')
    expect(await page.locator('.ward-label').first().isVisible()).toBe(true)
    await canalLabel.waitFor({ state: 'visible' })
    await wards.check()
    await label.waitFor()

    // English: the panel's names follow the language
    const panel = page.locator('.filter-overlays')
    expect(await panel.locator('legend').textContent()).toBe('Lớp bản đồ')
    await page.locator('#lang').click()
    expect(await panel.locator('legend').textContent()).toBe('Map layers')
    expect(await panel.locator('label').allTextContents()).toEqual(['Canals (test)', 'Ward boundaries (test)'])
    await page.locator('#lang').click()

    // zoomed in past the file's last level, the nearest tiles are scaled up instead of a blank screen
    await page.evaluate(() => (window as unknown as { __mytho: { map: { setZoom(z: number, o: object): void } } }).__mytho.map.setZoom(17, { animate: false }))
    await page.waitForFunction(() =>
      [...document.querySelectorAll('.basemap-tiles img.leaflet-tile-loaded')].some((i) => (i as HTMLImageElement).src.includes('/15/')),
    )
    expect(blocked).toEqual([])
    expect(problems).toEqual([])
    await page.close()
  })

  it('at 390 px: tiles from the file, the ward label drawn, its check box in the panel', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } })
    const problems = watchPage(page)
    const blocked = await offline(page, p.url)
    await page.goto(`${p.url}/`)
    await waitForIndexed(page, p.registry.size)
    await page.waitForFunction(() => document.querySelectorAll('.basemap-tiles img.leaflet-tile-loaded').length >= 2)
    expect((await loadedTiles(page)).every((t) => t.width === 256)).toBe(true)
    await page.locator('.overlay-label', { hasText: WARD }).waitFor()
    await page.locator('#panel-toggle').click()
    const box = page.locator('input[name="overlay:wards"]')
    await box.waitFor({ state: 'visible' })
    const rect = await box.boundingBox()
    expect(rect!.x + rect!.width).toBeLessThanOrEqual(390)
    expect(blocked).toEqual([])
    expect(problems).toEqual([])
    await page.close()
  })
})
