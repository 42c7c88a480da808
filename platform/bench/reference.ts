/*
 * The reference parts alone, as ceilings for our pipeline (issue #8): Aedes alone and Mosquitto alone as
 * QoS 1 pass-through (same devices, topics, payloads and window as our pipeline; one QoS 1 subscriber in its
 * own process), raw line-protocol writes to the same influxd, and many idle connections to our broker.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { loadRegistryFile } from '@mytho/schema'
import { freePort, makeTempDir, procDelta, procStats, waitFor, type ProcStats } from '@mytho/testing'
import { body, publishAll, WINDOW } from './publish.ts'
import { startRawLoad } from './raw-mqtt.ts'

export const now = () => performance.timeOrigin + performance.now()

/** Spawns a process and resolves when its stdout/stderr matches `ready` (the match is returned). */
export function startChild(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: { PATH: process.env['PATH'] ?? '', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const kill = () => child.kill('SIGKILL')
  process.on('exit', kill)
  child.once('exit', () => process.off('exit', kill))
  return new Promise((resolve, reject) => {
    let done = false
    const onData = (b: Buffer) => {
      out = (out + b.toString()).slice(-20_000)
      const m = done ? null : out.match(ready)
      if (m) {
        done = true
        resolve({ child, match: m, output: () => out })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('error', reject)
    child.once('exit', (code) => (done ? undefined : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out.slice(-2000)}`))))
  })
}

export const stopChild = (c: ChildProcess) =>
  new Promise<void>((r) => {
    if (c.exitCode !== null || c.signalCode !== null) return r()
    const hard = setTimeout(() => c.kill('SIGKILL'), 10_000)
    c.once('exit', () => (clearTimeout(hard), r()))
    c.kill('SIGTERM')
  })

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => (s.destroy(), resolve(true)))
    s.once('error', () => resolve(false))
  })

export interface ProcUse {
  name: string
  stats: ProcStats
}

export interface RefResult {
  perS: number
  seconds: number
  procs: ProcUse[]
}

/**
 * QoS 1 pass-through of `n` one-reading messages from 50 device connections through Aedes alone or Mosquitto alone;
 * the devices are MQTT.js connections in this process (publish.ts) or, `raw`, the raw-socket generator's process
 * (raw-mqtt.ts) with the same topics, payloads and window.
 */
export async function runPassThrough(kind: 'aedes' | 'mosquitto', n: number, root: string, generator: 'mqttjs' | 'raw' = 'mqttjs'): Promise<RefResult> {
  const tmp = makeTempDir('mytho-bench-ref-')
  let server: ChildProcess
  let port: number
  if (kind === 'aedes') {
    const s = await startChild(process.execPath, ['--import', 'tsx', 'platform/bench/aedes-alone.ts'], { cwd: root, env: {} }, /listening (\d+)/)
    server = s.child
    port = Number(s.match[1])
  } else {
    port = await freePort()
    const conf = join(tmp.path, 'mosquitto.conf')
    // max_queued_messages 0 = no limit: Mosquitto's default (1000) drops QoS 1 messages for a slow subscriber, and we measure zero loss.
    // max_inflight_messages 0 = no limit, as Mosquitto is tuned for this load (issue #20): its default (20) holds the
    // subscriber's deliveries to 20 unacknowledged, where Aedes sends them all at once.
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_inflight_messages 0\nmax_queued_messages 0\nlog_dest none\n`)
    server = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' })
    const kill = () => server.kill('SIGKILL')
    process.on('exit', kill)
    server.once('exit', () => process.off('exit', kill))
    await waitFor(() => portOpen(port), { timeoutMs: 10_000, intervalMs: 50, what: 'mosquitto listening' })
  }
  const url = `mqtt://127.0.0.1:${port}`
  const sub = await startChild(
    process.execPath,
    ['--import', 'tsx', 'platform/bench/counting-subscriber.ts'],
    { cwd: root, env: { MQTT_URL: url, TOPIC: 'mytho/v1/devices/+/readings', EXPECT: String(n) } },
    /subscribed/,
  )
  const devices = loadRegistryFile().devices.slice(0, 50)
  const raw =
    generator === 'raw'
      ? await startRawLoad(root, { port, devices: devices.map((d) => ({ id: d.id, kind: d.kind })), n, window: WINDOW, runStart: Date.now() - 1000 })
      : undefined
  const clients = raw
    ? []
    : await Promise.all(devices.map(async (d) => ({ id: d.id, client: await mqtt.connectAsync(url, { clientId: d.id, reconnectPeriod: 0 }) })))
  const serverBefore = procStats(server.pid!)
  const subBefore = procStats(sub.child.pid!)
  const rawBefore = raw ? procStats(raw.child.pid!) : undefined
  let t0 = now()
  if (raw) t0 = (await raw.go()).t0
  else await publishAll(clients, n, 1, Date.now() - 1000)
  await waitFor(() => /done [\d.]+/.test(sub.output()), {
    timeoutMs: 300_000,
    intervalMs: 20,
    what: `${kind}: all ${n} messages delivered (${sub.output().slice(-200)})`,
  })
  const tDone = Number(/done ([\d.]+)/.exec(sub.output())![1])
  const procs = [
    { name: kind === 'aedes' ? 'Aedes alone' : 'mosquitto', stats: procDelta(server.pid!, serverBefore) },
    { name: 'subscriber', stats: procDelta(sub.child.pid!, subBefore) },
    ...(raw && rawBefore ? [{ name: 'raw-socket generator', stats: procDelta(raw.child.pid!, rawBefore) }] : []),
  ]
  await raw?.stop()
  await Promise.all(clients.map((c) => c.client.endAsync()))
  await stopChild(sub.child)
  await stopChild(server)
  tmp.cleanup()
  return { perS: n / ((tDone - t0) / 1000), seconds: (tDone - t0) / 1000, procs }
}

/** Raw line-protocol writes of `n` points shaped like our readings, in batches of `batch`, `concurrency` requests at a time. */
export async function runLineProtocol(influxUrl: string, influxPid: number | undefined, n: number, batch = 5_000, concurrency = 2): Promise<RefResult> {
  const db = 'bench_raw'
  await fetch(`${influxUrl}/query?q=${encodeURIComponent(`DROP DATABASE "${db}"; CREATE DATABASE "${db}"`)}`, { method: 'POST' })
  const devices = loadRegistryFile().devices.slice(0, 50)
  const start = Date.now() - n - 1000
  // Build every body first so only the writes are timed. Same measurement/tags/fields as packages/storage's readingLine.
  const bodies: string[] = []
  for (let i = 0; i < n; i += batch) {
    const lines: string[] = []
    for (let j = i; j < Math.min(n, i + batch); j++) {
      const d = devices[j % devices.length]!
      const ts = start + Math.floor(j / devices.length)
      const r = body(d.kind, ts) as Record<string, unknown>
      let fields = ''
      for (const k in r) if (k !== 'kind' && k !== 'ts') fields += `${k}=${Number(r[k])},`
      lines.push(`${d.kind},deviceId=${d.id},kind=${d.kind},ward=${d.ward} ${fields}tsSource="device",receivedAt=${Date.now()}i ${ts}`)
    }
    bodies.push(lines.join('\n'))
  }
  const before = influxPid ? procStats(influxPid) : undefined
  const t0 = now()
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const b = bodies[next++]!
        const res = await fetch(`${influxUrl}/write?db=${db}&precision=ms`, { method: 'POST', body: b })
        if (res.status !== 204) throw new Error(`influx /write ${res.status}: ${await res.text()}`)
      }
    }),
  )
  const t1 = now()
  return {
    perS: n / ((t1 - t0) / 1000),
    seconds: (t1 - t0) / 1000,
    procs: influxPid && before ? [{ name: 'influxd', stats: procDelta(influxPid, before) }] : [],
  }
}

export interface ConnResult {
  connections: number
  connectSeconds: number
  baseRssMiB: number
  rssMiB: number
  peakRssMiB: number
  miBPerConn: number
  cpuS: number
}

/** `n` anonymous idle MQTT connections to our broker (already running as `brokerPid`), `concurrency` connects at a time. */
export async function runConnections(url: string, brokerPid: number, n: number, concurrency = 200): Promise<ConnResult> {
  const base = procStats(brokerPid)
  const clients: MqttClient[] = []
  const t0 = now()
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++
        clients.push(await mqtt.connectAsync(url, { clientId: `bench-conn-${i}`, reconnectPeriod: 0, keepalive: 300, connectTimeout: 60_000 }))
      }
    }),
  )
  const connectSeconds = (now() - t0) / 1000
  await new Promise((r) => setTimeout(r, 2_000)) // let the broker settle (GC) before reading its RSS
  const after = procDelta(brokerPid, base)
  for (const c of clients) c.end(true)
  return {
    connections: clients.length,
    connectSeconds,
    baseRssMiB: base.rssMiB,
    rssMiB: after.rssMiB,
    peakRssMiB: after.peakRssMiB,
    miBPerConn: (after.rssMiB - base.rssMiB) / clients.length,
    cpuS: after.cpuS,
  }
}
