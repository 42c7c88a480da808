/*
 * The alarm console's promise, checked as an operator would see it (issue #17): `npm start` with
 * SIM_SCENARIO=king-tide (its own pacing: SIM_SPEED left unset), the map opened in headless Chromium when the
 * platform says it is running, and a stopwatch until the banner shows a BĐ III flood incident and the page has
 * played its tones. Then the README's pictures of the console: the map with the banner on a big screen, the same
 * at 390 px, the acknowledge form, and the incident log. Takes about 9 minutes (the holds are real).
 *
 *   npx tsx platform/scripts/king-tide-check.ts [docs-dir]
 */
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeTempDir, waitFor } from '@mytho/testing'
import { launchChromium } from '@mytho/web/test-harness'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const docs = process.argv[2] ?? join(ROOT, 'docs')
const LIMIT_MS = 10 * 60_000

const tmp = makeTempDir('mytho-king-tide-')
const { SIM_SPEED: _own, ...env } = process.env
const child = spawn('npm', ['start'], {
  cwd: ROOT,
  env: { ...env, DATA_DIR: tmp.path, SIM_SCENARIO: 'king-tide', HTTP_PORT: '0', MQTT_PORT: '0', MQTT_WS_PORT: 'off', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
  detached: true,
})
let output = ''
child.stdout.on('data', (b: Buffer) => {
  output += b.toString()
})
const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))

const mapUrl = await waitFor(() => /Map \+ API\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1], {
  timeoutMs: 180_000,
  intervalMs: 100,
  what: 'npm start to print where the map is',
})
const runningAt = Date.now()
process.stdout.write(`npm start is running: ${mapUrl}\n`)

const browser = await launchChromium()
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh' })
  // Count the tones the page starts: the sound an operator hears, as the page plays it.
  await context.addInitScript(() => {
    const w = window as unknown as { __tones: number }
    w.__tones = 0
    const start = OscillatorNode.prototype.start
    OscillatorNode.prototype.start = function (this: OscillatorNode, ...args: Parameters<OscillatorNode['start']>) {
      w.__tones++
      return start.apply(this, args)
    }
  })
  const page = await context.newPage()
  await page.goto(mapUrl)
  const banner = page.locator('#incident-banner')
  const seen = await waitFor(
    async () => {
      if (!(await banner.isVisible())) return undefined
      const text = (await banner.textContent()) ?? ''
      return text.includes('Báo động III') ? text : undefined
    },
    { timeoutMs: LIMIT_MS + 60_000, intervalMs: 500, what: 'a BĐ III incident on the banner' },
  )
  const bannerAfterMs = Date.now() - runningAt
  await waitFor(async () => (await page.evaluate(() => (window as unknown as { __tones: number }).__tones)) > 0, {
    timeoutMs: 10_000,
    what: 'the banner to sound',
  })
  const tones = await page.evaluate(() => (window as unknown as { __tones: number }).__tones)
  const title = await page.title()
  const verdict = bannerAfterMs <= LIMIT_MS ? 'within' : 'LATER THAN'
  process.stdout.write(
    [
      `BĐ III on the banner ${Math.round(bannerAfterMs / 1000)} s after npm start said it was running (${verdict} 10 minutes)`,
      `tones played: ${tones}; tab title: ${title}`,
      `banner: ${seen.replace(/\s+/g, ' ').trim()}`,
      '',
    ].join('\n'),
  )
  mkdirSync(docs, { recursive: true })
  await page.waitForTimeout(1500) // the live feed fills the markers around
  await page.screenshot({ path: join(docs, 'map.png') })

  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh' })
  await phone.goto(mapUrl)
  await phone.locator('#incident-banner').waitFor({ state: 'visible' })
  await phone.waitForTimeout(1500)
  await phone.screenshot({ path: join(docs, 'map-phone.png') })

  const log = await browser.newPage({ viewport: { width: 1366, height: 768 }, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh' })
  await log.goto(new URL('incidents.html', mapUrl).href)
  await log.locator('#log-list li.log-item').first().waitFor()
  await log.waitForTimeout(500)
  await log.screenshot({ path: join(docs, 'incident-log.png') })

  process.stdout.write(`saved ${join(docs, 'map.png')}, map-phone.png, incident-log.png\n`)
  if (bannerAfterMs > LIMIT_MS) process.exitCode = 1
} finally {
  await browser.close()
  if (child.pid) process.kill(-child.pid, 'SIGTERM')
  const code = await exited
  process.stdout.write(`npm start stopped (exit ${code})\n`)
  tmp.cleanup()
}
