/*
 * Map frame rate, first render and update lag with 10,000 and 50,000 live devices, in headless Chromium.
 *   npx tsx platform/bench/map-fps.ts [100,10000,50000]
 * The built map is served with a synthetic Socket.IO server that speaks the shared live events (a view in the
 * handshake or a view event → snapshot, `updates` every 50 ms, each device updating every 5 s, 1 % of updates
 * changing status) and a synthetic GET /api/v1/devices. The operator pans by mouse drags (real input events, 1 s each) for ~8 s.
 *  - fps: requestAnimationFrame callbacks per second over the whole panning period (moveend redraws, new
 *    snapshots and updates included)
 *  - first render: navigation start → first live snapshot drawn on the canvas (page load, script, Socket.IO
 *    handshake, snapshot transfer and drawing), and the part after the snapshot arrived
 *  - update lag: server emits a batch (stamped lastSeen = now) → the canvas frame that drew it, p50/p95
 * The handshake view's first snapshot is preceded by the server's clusters (`firstView`) when the map asks
 * (HandshakeAuth.clusters), from the API's own first-view index, emitted as the API does (api/src/live-push.ts). BENCH_WEB_DIST: serve this built map instead of building web/ (the previous build's
 * dist, for an A/B; built with `vite build --mode test`, as buildWeb builds: the bench reads the page's test hook). BENCH_TRACE=1: also the renderer main thread's CPU from navigation to the first render (a
 * Chromium trace, the tasks' thread time), which the machine's load moves less than the clock; tracing costs time, so
 * such runs are not the clock's. Not part of the test suite.
 *
 * Replay (issue #21), after the live sizes: BENCH_REPLAY_DEVICES (10,000; 0 skips it) devices, each reporting every
 * 5 minutes (1 % of its readings at another status), replayed over the last 24 h at 600× from the synthetic
 * GET /api/v1/replay/state and /changes (the API's shapes, raw rows as the API answers windows ≤ 6 h), with the live
 * updates still arriving on the socket. The map is opened on a replay deep link and its play button pressed; fps is
 * requestAnimationFrame callbacks per second while it plays the whole 24 h (144 s; BENCH_REPLAY_S plays less).
 * Target ≥ 50 fps. `npm run bench` runs this part alone (runReplayFps, its part replay-fps) and judges it in its table of targets.
 */
import { createReadStream, existsSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, resolve } from 'node:path'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { mkdtempSync, rmSync } from 'node:fs'
import { Server } from 'socket.io'
import {
  CITY_BOUNDS,
  deviceKinds,
  wards,
  type ClientToServerEvents,
  type DeviceStatus,
  type HandshakeAuth,
  type LiveDeviceState,
  type ServerToClientEvents,
  type ViewSubscription,
} from '@mytho/schema'
import { encodeSnapshot } from '@mytho/schema/live-snapshot'
import { createFirstViewIndex } from '@mytho/api'
import { buildWeb, DEAD_TILES, launchChromium } from '@mytho/web/test-harness'

// 100 first: it also absorbs the browser's cold start (compiling the bundle), which would otherwise land on 10,000
const sizes = (process.argv[2] ?? '100,10000,50000').split(',').map(Number)
const UPDATE_EVERY_MS = Number(process.env['BENCH_UPDATE_EVERY_MS'] ?? 5000)
/** Share of updates that change the device's status (a cluster index rebuild each time, throttled). */
const STATUS_CHANGE_SHARE = Number(process.env['BENCH_STATUS_CHANGE'] ?? 0.01)
const FLUSH_MS = 50

function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function fleet(n: number): LiveDeviceState[] {
  const r = rng(n)
  const b = CITY_BOUNDS
  const pickStatus = (): DeviceStatus => {
    const x = r()
    return x < 0.9 ? 'ok' : x < 0.95 ? 'warning' : x < 0.97 ? 'alarm' : x < 0.99 ? 'offline' : 'never_seen'
  }
  return Array.from({ length: n }, (_, i) => {
    const kind = deviceKinds[i % deviceKinds.length]!
    // denser near the centre, like a real city
    const lat = 10.355 + (r() - 0.5) * (r() < 0.6 ? 0.04 : b.north - b.south)
    const lon = 106.36 + (r() - 0.5) * (r() < 0.6 ? 0.05 : b.east - b.west)
    return {
      deviceId: `bench-${String(i).padStart(6, '0')}`,
      kind,
      ward: wards[i % wards.length]!,
      lat,
      lon,
      status: pickStatus(),
      lastSeen: Date.now(),
      connection: 'online',
      lastReading: null,
    }
  })
}

const inView = (d: LiveDeviceState, v: ViewSubscription) =>
  d.lon >= v.bbox[0] &&
  d.lat >= v.bbox[1] &&
  d.lon <= v.bbox[2] &&
  d.lat <= v.bbox[3] &&
  (!v.kinds || v.kinds.includes(d.kind)) &&
  (!v.wards || v.wards.includes(d.ward))

const types: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' }

/** Replay's synthetic readings: each device every REPLAY_INTERVAL_MS, at its own offset; one in a hundred at another status. */
const REPLAY_INTERVAL_MS = 300_000
const replayStatuses = ['ok', 'warning', 'alarm', 'offline'] as const
function hash32(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b, 0xc2b2ae35)
  h = Math.imul(h ^ (h >>> 16), 0x45d9f35b)
  return ((h ^ (h >>> 13)) >>> 0) / 4294967296
}
type Row = [number, string, number | null, Record<string, number> | null]
function replayRow(d: LiveDeviceState, i: number, k: number): Row {
  const x = hash32(i, k)
  const status = x < 0.01 ? replayStatuses[Math.floor(x * 400)]! : d.status
  const ts = k * REPLAY_INTERVAL_MS + ((i * 977) % REPLAY_INTERVAL_MS)
  return [i, status, ts, { value: Math.round(x * 10_000) / 10 }]
}
/** The reading index k of device i at or before t. */
const readingAt = (i: number, t: number) => Math.floor((t - ((i * 977) % REPLAY_INTERVAL_MS)) / REPLAY_INTERVAL_MS)

/** GET /api/v1/replay/state and /changes over the fleet as it was at start (packages/schema/src/replay.ts shapes). */
function replayAnswer(path: string, q: URLSearchParams, fleet: readonly LiveDeviceState[]): unknown {
  const ids = fleet.map((d) => d.deviceId)
  if (path === '/api/v1/replay/state') {
    const at = Number(q.get('at'))
    return { at, resolution: q.get('resolution') ?? '5m', ids, rows: fleet.map((d, i) => replayRow(d, i, readingAt(i, at))), incidents: [] }
  }
  const from = Number(q.get('from'))
  const to = Number(q.get('to'))
  const byTime = new Map<number, Row[]>()
  fleet.forEach((d, i) => {
    for (let k = readingAt(i, from - 1) + 1; ; k++) {
      const row = replayRow(d, i, k)
      if (row[2]! >= to) break
      if (row[2]! < from) continue
      let rows = byTime.get(row[2]!)
      if (!rows) byTime.set(row[2]!, (rows = []))
      rows.push(row)
    }
  })
  const frames = [...byTime].sort(([a], [b]) => a - b).map(([t, rows]) => ({ t, rows }))
  return { from, to, resolution: to - from <= 6 * 3_600_000 ? 'raw' : '5m', ids, frames, incidents: [] }
}

async function serve(dist: string, devices: LiveDeviceState[]) {
  const replayFleet = devices.slice()
  const meta = JSON.stringify(
    devices.map((d) => ({
      id: d.deviceId,
      kind: d.kind,
      nameVi: `Thiết bị thử ${d.deviceId.slice(6)}`,
      nameEn: `Bench device ${d.deviceId.slice(6)}`,
      lat: d.lat,
      lon: d.lon,
      ward: d.ward,
      status: d.status,
      lastSeen: d.lastSeen,
      connection: d.connection,
      lastReading: null,
    })),
  )
  const http = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    if (path === '/api/v1/devices') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(meta)
      return
    }
    if (path === '/api/v1/auth/me') {
      // As the API answers with sign-in disabled: an anonymous operator, so the map skips its sign-in page.
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ signedIn: false, username: null, role: 'operator', csrfToken: null, expiresAt: null }))
      return
    }
    if (path === '/api/v1/replay/state' || path === '/api/v1/replay/changes') {
      const q = new URLSearchParams((req.url ?? '').split('?')[1] ?? '')
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(replayAnswer(path, q, replayFleet)))
      return
    }
    if (path.startsWith('/api/')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not in the benchmark"}')
      return
    }
    const file = join(dist, normalize(path === '/' ? '/index.html' : path))
    if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' })
    createReadStream(file).pipe(res)
  })
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(http, { path: '/socket.io' })
  const views = new Map<string, ViewSubscription>()
  const rowOf = new Map(devices.map((d, i) => [d.deviceId, i]))
  const listeners = new Set<(ids: Iterable<string>) => void>()
  const firstView = createFirstViewIndex({
    all: () => devices,
    get: (id) => devices[rowOf.get(id) ?? -1],
    onChange: (l) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
  })
  // as the API does at start
  firstView.warm()
  const handlerMs: number[] = []
  io.on('connection', (socket) => {
    const t0 = performance.now()
    socket.emit('feed', { connected: true, since: Date.now() })
    const auth = socket.handshake.auth as HandshakeAuth
    const subscribe = (v: ViewSubscription, first = false) => {
      views.set(socket.id, v)
      const snap = devices.filter((d) => inView(d, v))
      if (auth.snapshot === 'columns') {
        if (first && auth.clusters === true && !v.kinds && !v.wards) socket.emit('firstView', firstView.clusters(v.bbox, v.zoom))
        socket.emit('snapshotColumns', encodeSnapshot(snap))
      } else socket.emit('snapshot', snap)
      return snap.length
    }
    // as the API does (api/src/live-push.ts): a view in the handshake is subscribed at once, in the format it asks for
    const early = auth.view
    if (early) subscribe(early, true)
    handlerMs.push(Math.round(performance.now() - t0))
    socket.on('view', (v, ack) => {
      const n = subscribe(v)
      ack?.({ ok: true, devices: n })
    })
    socket.on('disconnect', () => views.delete(socket.id))
  })
  const r = rng(7)
  let cursor = 0
  const perFlush = Math.round((devices.length * FLUSH_MS) / UPDATE_EVERY_MS)
  const timer = setInterval(() => {
    const now = Date.now()
    const changed: LiveDeviceState[] = []
    for (let k = 0; k < perFlush; k++) {
      const i = cursor++ % devices.length
      const d = devices[i]!
      const status: DeviceStatus = r() < STATUS_CHANGE_SHARE ? (['ok', 'warning', 'alarm', 'offline'] as const)[Math.floor(r() * 4)]! : d.status
      const next: LiveDeviceState = {
        ...d,
        status,
        lastSeen: now,
        lastReading: {
          deviceId: d.deviceId,
          kind: d.kind,
          ward: d.ward,
          ts: now,
          tsSource: 'device',
          receivedAt: now,
          fields: { value: Math.round(r() * 1000) / 10 },
        },
      }
      devices[i] = next
      changed.push(next)
    }
    const ids = changed.map((d) => d.deviceId)
    for (const l of listeners) l(ids)
    for (const [id, v] of views)
      io.to(id).emit(
        'updates',
        changed.filter((d) => inView(d, v)),
      )
  }, FLUSH_MS)
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: async () => {
      clearInterval(timer)
      firstView.stop()
      process.stderr.write(`first-view index: ${JSON.stringify(firstView.stats)}; connection handlers ${handlerMs.join(', ')} ms\n`)
      io.close()
      await new Promise((r2) => setTimeout(r2, 50))
    },
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}

const TRACE = process.env['BENCH_TRACE'] === '1'

interface TraceEvent {
  name: string
  ph: string
  ts: number
  dur?: number
  tdur?: number
  pid: number
  tid: number
  args?: { name?: string; data?: { frame?: string } }
}
/** CPU (thread time) of the renderer main thread's tasks from navigationStart to the mytho:first-render mark, ms. */
function mainThreadCpuToFirstRender(trace: Buffer): number {
  const events = (JSON.parse(trace.toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents
  const main = events.find(
    (e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && events.some((m) => m.name === 'mytho:first-render' && m.pid === e.pid),
  )
  if (!main) return NaN
  const on = events.filter((e) => e.pid === main.pid && e.tid === main.tid)
  const end = on.find((e) => e.name === 'mytho:first-render')!.ts
  const start = Math.min(...on.filter((e) => e.name === 'navigationStart').map((e) => e.ts), end)
  let us = 0
  for (const e of on)
    if (e.ph === 'X' && (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') && e.ts >= start && e.ts < end && e.tdur !== undefined)
      // a task that runs past the mark counts in the share of its wall time before it
      us += e.ts + (e.dur ?? 0) > end ? (e.tdur * (end - e.ts)) / Math.max(1, e.dur ?? 1) : e.tdur
  return us / 1000
}

/**
 * The synthetic API in a worker thread of its own: in this process it shared the event loop with Playwright's
 * driver, which was seen stalling it 40–170 ms between a socket write and the page receiving it (issue #4). An API is
 * another process (or machine) for a browser; both threads stamp with the same wall clock (Date.now).
 */
async function serveInWorker(dist: string, n: number): Promise<{ url: string; close: () => Promise<void> }> {
  const worker = new Worker(new URL('./ts-worker.mjs', import.meta.url), { workerData: { entry: import.meta.url, role: 'map-bench-server', dist, n } })
  const next = (type: string) =>
    new Promise<{ url?: string }>((resolve, reject) => {
      worker.once('error', reject)
      worker.on('message', function h(m: { type: string; url?: string }) {
        if (m.type === type) {
          worker.off('message', h)
          resolve(m)
        }
      })
    })
  const { url } = await next('ready')
  return {
    url: url!,
    close: async () => {
      const closed = next('closed')
      worker.postMessage({ type: 'close' })
      await closed
      await worker.terminate()
    },
  }
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'mytho-map-bench-'))
  const dist = process.env['BENCH_WEB_DIST'] ?? (await buildWeb(join(tmp, 'dist')))
  const browser = await launchChromium()
  const rows: string[] = []
  let replay: ReplayFps | undefined
  try {
    for (const n of sizes) {
      const server = await serveInWorker(dist, n)
      const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
      if (TRACE) await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing'] })
      await page.goto(`${server.url}/?tiles=${encodeURIComponent(DEAD_TILES)}#lat=10.35500&lon=106.36000&z=14`)
      await page.waitForFunction(
        () => (window as unknown as { __mytho?: { stats(): { firstRenderMs?: number } } }).__mytho?.stats().firstRenderMs !== undefined,
        undefined,
        { timeout: 60_000 },
      )
      const cpuMs = TRACE ? mainThreadCpuToFirstRender(await browser.stopTracing()) : undefined
      const first = await page.evaluate(() => (window as unknown as { __mytho: { stats(): { firstRenderMs: number; devices: number } } }).__mytho.stats())
      const marks = (await page.evaluate(`(() => {
        const nav = performance.getEntriesByType('navigation')[0]
        const m = (name) => performance.getEntriesByName(name)[0]?.startTime.toFixed(0)
        return { responseEnd: nav.responseEnd.toFixed(0), domContentLoaded: nav.domContentLoadedEventEnd.toFixed(0), boot: m('mytho:boot'), main: m('mytho:main'), mainEnd: m('mytho:main-end'), idle: m('mytho:idle'), engineOpen: m('mytho:engine-open'), connect: m('mytho:connect'), snapshot: m('mytho:snapshot'), firstView: m('mytho:first-view') }
      })()`)) as Record<string, string>
      const drawn = await page.evaluate(
        () => (window as unknown as { __mytho: { stats(): { firstRender: { beforeSnapshot: boolean } } } }).__mytho.stats().firstRender,
      )
      process.stderr.write(
        `${n}: first render ${first.firstRenderMs.toFixed(0)} ms${cpuMs === undefined ? '' : ` (main thread CPU ${cpuMs.toFixed(0)} ms)`} ${JSON.stringify(marks)} ${JSON.stringify(drawn)}\n`,
      )
      // drawn from the server's first-view clusters, which come before the snapshot: from their arrival
      const snapshotToDrawn = first.firstRenderMs - Number(marks[drawn.beforeSnapshot ? 'firstView' : 'snapshot'])
      await page.waitForTimeout(1000)
      // a string, not a function: tsx's keep-names helper (__name) does not exist in the page
      await page.evaluate(`(() => {
        window.__mytho.resetLag()
        window.__frames = []
        window.__stop = false
        const loop = (t) => { window.__frames.push(t); if (!window.__stop) requestAnimationFrame(loop) }
        requestAnimationFrame(loop)
      })()`)
      // eight drags of 1 s each: right, down, left, up, twice (real input, Leaflet's own dragging)
      const dirs = [
        [1, 0],
        [0, 1],
        [-1, 0],
        [0, -1],
      ] as const
      const t0 = Date.now()
      for (let k = 0; k < 8; k++) {
        const [dx, dy] = dirs[k % 4]!
        let x = 900
        let y = 400
        await page.mouse.move(x, y)
        await page.mouse.down()
        const start = Date.now()
        while (Date.now() - start < 1000) {
          x += dx * 6
          y += dy * 4
          await page.mouse.move(x, y)
          await page.waitForTimeout(8)
        }
        await page.mouse.up()
      }
      const panMs = Date.now() - t0
      const r = await page.evaluate(() => {
        const w = window as unknown as { __mytho: { lagSamples: number[]; stats(): Record<string, unknown> }; __frames: number[]; __stop: boolean }
        w.__stop = true
        const f = w.__frames
        const gaps = f.slice(1).map((t, i) => t - f[i]!)
        return { frames: f.length, spanMs: f[f.length - 1]! - f[0]!, worstGap: Math.max(...gaps), lag: [...w.__mytho.lagSamples], stats: w.__mytho.stats() }
      })
      const fps = ((r.frames - 1) * 1000) / r.spanMs
      rows.push(
        `| ${n.toLocaleString('en')} | ${fps.toFixed(1)} | ${r.worstGap.toFixed(0)} | ${first.firstRenderMs.toFixed(0)} | ${snapshotToDrawn.toFixed(0)} | ${pct(r.lag, 50).toFixed(0)} | ${pct(r.lag, 95).toFixed(0)} | ${r.lag.length} | ${String(r.stats['lastRebuildMs'] !== undefined ? Number(r.stats['lastRebuildMs']).toFixed(0) : '')} | ${(panMs / 1000).toFixed(1)} |`,
      )
      process.stderr.write(`${n}: done (${first.devices} devices in the first snapshot) ${JSON.stringify(r.stats)}\n`)
      await page.close()
      await server.close()
    }
    if (REPLAY_DEVICES > 0) replay = await measureReplay(browser, dist, REPLAY_DEVICES)
  } finally {
    await browser.close()
    rmSync(tmp, { recursive: true, force: true })
  }
  process.stdout.write(
    [
      '',
      `Map in headless Chromium (${process.platform}, --disable-gpu), 1366×768, each device updating every ${UPDATE_EVERY_MS / 1000} s, batches every ${FLUSH_MS} ms`,
      '',
      '| devices | fps while panning | worst frame gap ms | first render ms (navigation → drawn) | snapshot (or first view) received → drawn ms | update lag p50 ms | p95 ms | batches drawn | last index rebuild ms | panning s |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      ...(replay ? [replayFpsTable(replay), ''] : []),
    ].join('\n'),
  )
}

const REPLAY_DEVICES = Number(process.env['BENCH_REPLAY_DEVICES'] ?? 10_000)
/** BENCH_REPLAY_PROFILE=1: the page's CPU profile while playing, self time by function (profiling costs time: not the clock's). */
const PROFILE = process.env['BENCH_REPLAY_PROFILE'] === '1'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
/** The renderer main thread's time by trace event name (durations of complete events, nested ones counted in each). */
function mainThreadByEvent(trace: Buffer, top = 20): string {
  const events = (JSON.parse(trace.toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents
  const mains = events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
  const by = new Map<string, number>()
  for (const e of events)
    if (e.ph === 'X' && e.dur !== undefined && mains.some((m) => m.pid === e.pid && m.tid === e.tid)) by.set(e.name, (by.get(e.name) ?? 0) + e.dur)
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => `  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`)
    .join('\n')
}

function topSelf(profile: { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] }, top = 25): string {
  const byNode = new Map<number, number>()
  const deltas = profile.timeDeltas ?? []
  const samples = profile.samples ?? []
  for (let i = 0; i < samples.length; i++) byNode.set(samples[i]!, (byNode.get(samples[i]!) ?? 0) + (deltas[i] ?? 0))
  const byFn = new Map<string, number>()
  for (const n of profile.nodes) {
    const us = byNode.get(n.id) ?? 0
    if (!us) continue
    const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`
    byFn.set(key, (byFn.get(key) ?? 0) + us)
  }
  return [...byFn]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => `  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`)
    .join('\n')
}
export const REPLAY_SPEED = 600
export const REPLAY_FPS_TARGET = 50
/** The target's fleet and its window played whole, s of real time (24 h at 600×). */
export const REPLAY_TARGET_DEVICES = 10_000
export const REPLAY_FULL_S = (24 * 3_600) / REPLAY_SPEED

/** One replay measurement: 24 h (or BENCH_REPLAY_S of it) played at REPLAY_SPEED over `devices` devices. */
export interface ReplayFps {
  devices: number
  /** Hours of the past played. */
  playedH: number
  /** Real seconds of play asked for (BENCH_REPLAY_S, else the whole 24 h), and measured over. */
  playS: number
  realS: number
  fps: number
  worstGapMs: number
  rebuilds: number
  /** The target as issue #21 says it: the whole 24 h over at least 10,000 devices at ≥ 50 fps. */
  full: boolean
  met: boolean
}

export function replayFpsTable(r: ReplayFps): string {
  return [
    `Replay in headless Chromium, 1366×768: ${r.devices.toLocaleString('en')} devices reporting every ${REPLAY_INTERVAL_MS / 60_000} min, the last 24 h played at ${REPLAY_SPEED}× (raw rows in windows of 30 min, the next fetched ahead, applied every 50 ms), live updates still arriving`,
    '',
    '| devices | played | real s | fps while playing | worst frame gap ms | index rebuilds while playing | target ≥ 50 fps |',
    '|---|---|---|---|---|---|---|',
    `| ${r.devices.toLocaleString('en')} | ${r.playedH.toFixed(1)} h | ${r.realS.toFixed(0)} | ${r.fps.toFixed(1)} | ${r.worstGapMs.toFixed(0)} | ${r.rebuilds} | ${r.fps >= REPLAY_FPS_TARGET ? 'met' : 'not met'} |`,
  ].join('\n')
}

/**
 * The replay part alone, for `npm run bench` (BENCH_ONLY=replay-fps): builds the map as main() does (or serves
 * BENCH_WEB_DIST), plays the last 24 h at 600× over `devices` devices in headless Chromium.
 */
export async function runReplayFps(devices = REPLAY_DEVICES > 0 ? REPLAY_DEVICES : REPLAY_TARGET_DEVICES): Promise<ReplayFps> {
  const tmp = mkdtempSync(join(tmpdir(), 'mytho-replay-fps-'))
  try {
    const dist = process.env['BENCH_WEB_DIST'] ?? (await buildWeb(join(tmp, 'dist')))
    const browser = await launchChromium()
    try {
      return await measureReplay(browser, dist, devices)
    } finally {
      await browser.close()
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

/** Issue #21's target: the map keeps ≥ 50 fps playing a 24 h replay at 600× over 10,000 devices. */
async function measureReplay(browser: Awaited<ReturnType<typeof launchChromium>>, dist: string, n: number): Promise<ReplayFps> {
  const server = await serveInWorker(dist, n)
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
  try {
    const to = Date.now() - 60_000
    const from = to - 24 * 3_600_000
    const playS = Number(process.env['BENCH_REPLAY_S'] ?? REPLAY_FULL_S)
    await page.goto(`${server.url}/?tiles=${encodeURIComponent(DEAD_TILES)}#lat=10.35500&lon=106.36000&z=14&r=${from}&rf=${from}&rt=${to}&rx=${REPLAY_SPEED}`)
    // the replay link is followed once the registry's names are in (they place the devices): the state at `from` drawn
    await page.waitForFunction(
      (t) => document.getElementById('replay-time')?.dataset['at'] === String(t) && document.getElementById('replay-status')?.dataset['status'] === 'ready',
      from,
      { timeout: 60_000 },
    )
    const before = await page.evaluate(() => (window as unknown as { __mytho: { stats(): { rebuilds: number; devices: number } } }).__mytho.stats())
    await page.evaluate(`(() => {
      window.__frames = []
      window.__stop = false
      window.__long = []
      new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(Math.round(e.duration)) }).observe({ type: 'longtask' })
      const loop = (t) => { window.__frames.push(t); if (!window.__stop) requestAnimationFrame(loop) }
      requestAnimationFrame(loop)
    })()`)
    if (PROFILE) await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] })
    const cdp = PROFILE ? await page.context().newCDPSession(page) : undefined
    if (cdp) {
      await cdp.send('Profiler.enable')
      await cdp.send('Profiler.start')
    }
    await page.locator('#replay-play').click()
    const t0 = Date.now()
    await page.waitForFunction(
      ([end, until]) => Number(document.getElementById('replay-time')?.dataset['at']) >= end || Date.now() >= until,
      [to, t0 + playS * 1000] as const,
      { timeout: (playS + 120) * 1000, polling: 500 },
    )
    const r = await page.evaluate(() => {
      const w = window as unknown as { __mytho: { stats(): { rebuilds: number; byStatus: Record<string, number> } }; __frames: number[]; __stop: boolean }
      w.__stop = true
      const f = w.__frames
      const gaps = f.slice(1).map((t, i) => t - f[i]!)
      const long = (w as unknown as { __long: number[] }).__long
      return {
        frames: f.length,
        spanMs: f[f.length - 1]! - f[0]!,
        worstGap: Math.max(...gaps),
        at: Number(document.getElementById('replay-time')?.dataset['at']),
        longTasks: { n: long.length, ms: long.reduce((a, b) => a + b, 0) },
        stats: w.__mytho.stats(),
      }
    })
    if (cdp) process.stderr.write(`replay profile, self time by function:\n${topSelf((await cdp.send('Profiler.stop')).profile)}\n`)
    if (PROFILE) process.stderr.write(`replay trace, renderer main thread by event:\n${mainThreadByEvent(await browser.stopTracing())}\n`)
    const fps = ((r.frames - 1) * 1000) / r.spanMs
    const playedH = (r.at - from) / 3_600_000
    process.stderr.write(`replay ${n}: ${JSON.stringify({ ...r, before })}\n`)
    const full = n >= REPLAY_TARGET_DEVICES && playS >= REPLAY_FULL_S
    return {
      devices: n,
      playedH,
      playS,
      realS: r.spanMs / 1000,
      fps,
      worstGapMs: r.worstGap,
      rebuilds: r.stats.rebuilds - before.rebuilds,
      full,
      met: full && fps >= REPLAY_FPS_TARGET,
    }
  } finally {
    await page.close()
    await server.close()
  }
}

/**
 * A deployed API has answered maps before: its code is compiled and its first-view index built. A fresh worker's is
 * not, so a few handshakes like the page's go first (they measured 100–200 ms cold at 10,000 devices).
 */
async function warmUp(url: string): Promise<void> {
  const { io } = await import('socket.io-client')
  const auth: HandshakeAuth = { view: { bbox: [106.33, 10.34, 106.39, 10.37], zoom: 14 }, snapshot: 'columns', clusters: true }
  for (let i = 0; i < 5; i++)
    await new Promise<void>((resolve, reject) => {
      const s = io(url, { path: '/socket.io', transports: ['websocket'], auth, reconnection: false })
      s.once('snapshotColumns', () => {
        s.close()
        resolve()
      })
      s.once('connect_error', reject)
    })
}

if (!isMainThread && (workerData as { role?: string }).role === 'map-bench-server') {
  const { dist: d, n } = workerData as { dist: string; n: number }
  const server = await serve(d, fleet(n))
  await warmUp(server.url)
  parentPort!.on('message', (m: { type: string }) => {
    if (m.type === 'close') void server.close().then(() => parentPort!.postMessage({ type: 'closed' }))
  })
  parentPort!.postMessage({ type: 'ready', url: server.url })
} else if (isMainThread && process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
