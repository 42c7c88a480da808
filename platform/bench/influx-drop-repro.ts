/*
 * Does InfluxDB 1.6.7 lose points written right after DROP DATABASE + CREATE DATABASE of the same name, with the
 * same series keys as the previous round? (The bench resets its database that way between rounds.)
 * Run: npx tsx platform/bench/influx-drop-repro.ts [rounds] [points]
 */
import { startInfluxd } from '@mytho/testing'

const rounds = Number(process.argv[2] ?? 20)
const points = Number(process.argv[3] ?? 200_000)
const influx = await startInfluxd()
const db = 'bench'
const q = async (text: string, withDb = false) =>
  (await fetch(`${influx.url}/query?${withDb ? `db=${db}&` : ''}q=${encodeURIComponent(text)}`, { method: 'POST' })).json() as Promise<{
    results: { series?: { values: [string, number][] }[]; error?: string }[]
  }>
const devices = Array.from({ length: 50 }, (_, i) => `wl-${String(i).padStart(3, '0')}`)
try {
  await q(`CREATE DATABASE ${db}`)
  for (let r = 1; r <= rounds; r++) {
    await q(`DROP DATABASE "${db}"; CREATE DATABASE "${db}"`)
    const start = Date.now() - points - 1000
    const lines: string[] = []
    for (let i = 0; i < points; i++) {
      const d = devices[i % devices.length]!
      lines.push(
        `water_level,deviceId=${d},kind=water_level,ward=w1 waterLevelCm=${120 + (i % 60)},batteryV=12.7,tsSource="device",receivedAt=${Date.now()}i ${start + Math.floor(i / devices.length)}`,
      )
    }
    const batches: string[] = []
    for (let i = 0; i < lines.length; i += 5000) batches.push(lines.slice(i, i + 5000).join('\n'))
    let next = 0
    const writer = async () => {
      while (next < batches.length) {
        const body = batches[next++]!
        const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body })
        if (res.status !== 204) throw new Error(`write ${res.status}: ${await res.text()}`)
      }
    }
    await Promise.all([writer(), writer()])
    const count = async () => (await q('SELECT count("batteryV") FROM "water_level"', true)).results[0]?.series?.[0]?.values[0]?.[1] ?? 0
    const c0 = await count()
    await new Promise((r) => setTimeout(r, 1000))
    const c1 = await count()
    process.stdout.write(`round ${r}: wrote ${points}, counted ${c0} at once, ${c1} after 1 s${c1 < points ? '  <-- SHORT' : ''}\n`)
  }
} finally {
  await influx.stop()
}
