/*
 * The Redis hop's cost (issue #10): the same QoS 1 load through
 *   1. one broker node, in-memory persistence (MQTT_PERSISTENCE=memory: the cheapest local store), and on
 *      LevelDB (MQTT_PERSISTENCE=level, the standalone default, what a Redis node replaces),
 *   2. one broker node on Redis (REDIS_URL: mqemitter-redis + aedes-persistence-redis),
 *   3. two broker nodes on the same Redis, devices spread over both, the subscriber on node B,
 * each node the real entry point (`node --import tsx broker/src/main.ts`) in its own process, Redis the Debian
 * redis-server started by @mytho/testing (no persistence). Devices: BENCH_DEVICES MQTT.js connections (seed
 * devices, their own credentials), one JSON reading per QoS 1 message, at most 200 unacknowledged per connection.
 * Subscriber: svc-ingest with a persistent session (clean=false, QoS 1), as the ingest: each message is queued
 * for it in the persistence before the device's PUBACK. Both in this process (its CPU is reported too).
 *
 * Rate = messages / (last received − first sent), and until the brokers and Redis are idle again (the queue
 * entries of acknowledged messages removed: on Redis that tail is long); latency = publish call → delivery to the subscriber, at full
 * load (mostly queueing behind the 200-message windows) and at a light 200 msg/s (the hop itself).
 * CPU = utime + stime from /proc over the timed part, per process; "per 1,000 msgs" divides by the messages.
 * Rounds go over every scenario in turn (drift on a shared machine hits all alike); the table has the median
 * round by rate and every round's rate.
 *
 *   npx tsx platform/bench/cluster.ts      BENCH_MESSAGES (20000) BENCH_DEVICES (50) BENCH_ROUNDS (3) BENCH_ONLY (e.g. Redis)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import mqtt, { type MqttClient } from 'mqtt'
import { Redis } from 'ioredis'
import { loadRegistryFile, readingsTopic } from '@mytho/schema'
import { readDemoSecrets, SERVICE_ACCOUNTS, type DemoSecrets } from '@mytho/runtime'
import { childPidByName, freePort, makeTempDir, procStats, startRedisServer, waitFor, type ProcStats } from '@mytho/testing'

const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 20_000)
const DEVICES = Number(process.env['BENCH_DEVICES'] ?? 50)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3)
const ONLY = process.env['BENCH_ONLY'] // run only the setups whose name contains this
const WINDOW = 200
const PACED_RATE = 200
const PACED_MESSAGES = 600
const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

interface Scenario {
  name: string
  nodes: 1 | 2
  redis: boolean
  /** Without Redis: MQTT_PERSISTENCE. */
  persistence?: 'memory' | 'level'
}
const allScenarios: Scenario[] = [
  { name: '1 node, memory persistence', nodes: 1, redis: false, persistence: 'memory' },
  { name: '1 node, level persistence (the default)', nodes: 1, redis: false, persistence: 'level' },
  { name: '1 node on Redis', nodes: 1, redis: true },
  { name: '2 nodes on Redis', nodes: 2, redis: true },
]
const scenarios = allScenarios.filter((s) => ONLY === undefined || s.name.includes(ONLY))

interface Result {
  scenario: string
  /** Messages / (last delivered − first sent). */
  rate: number
  /** Messages / (broker and Redis idle again − first sent): includes removing each acknowledged message from the queue. */
  drainedRate: number
  p50: number
  p95: number
  brokerCpuMsPer1k: number[]
  redisCpuMsPer1k: number
  benchCpuMsPer1k: number
  wallS: number
  /** Publish → delivery at a light load (PACED_RATE msg/s, one message at a time): the hop itself, no queueing. */
  pacedP50: number
  pacedP95: number
}

interface Node {
  child: ChildProcess
  port: number
  stop(): Promise<void>
}

async function startNode(env: Record<string, string>): Promise<Node> {
  const port = await freePort()
  let out = ''
  const child = spawn(process.execPath, ['--import', 'tsx', 'broker/src/main.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env['PATH'] ?? '',
      LOG_LEVEL: 'warn',
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(port),
      MQTT_WS_PORT: 'off',
      MQTT_MAX_PUBLISH_PER_S: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()))
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()))
  await waitFor(() => out.includes('broker: MQTT'), { timeoutMs: 60_000, what: `broker on ${port}: ${out}` })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    child,
    port,
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN

async function runScenario(s: Scenario, redisUrl: string, redisPid: number | undefined): Promise<Result> {
  const dir = makeTempDir('mytho-bench-cluster-')
  const nodes: Node[] = []
  const clients: MqttClient[] = []
  try {
    const env: Record<string, string> = { DATA_DIR: dir.path, ...(s.redis ? { REDIS_URL: redisUrl } : { MQTT_PERSISTENCE: s.persistence ?? 'memory' }) }
    for (let i = 0; i < s.nodes; i++) nodes.push(await startNode(env)) // one after the other: the first seeds the credentials
    const secrets: DemoSecrets = readDemoSecrets(dir.path)!
    const urlOf = (i: number) => `mqtt://127.0.0.1:${nodes[i % nodes.length]!.port}`

    // The subscriber on the last node: with two nodes, the devices on node A cross Redis to reach it.
    const sub = await mqtt.connectAsync(urlOf(nodes.length - 1), {
      clientId: 'mytho-ingest-bench',
      clean: false,
      username: SERVICE_ACCOUNTS.ingest,
      password: secrets.services[SERVICE_ACCOUNTS.ingest]!,
      reconnectPeriod: 0,
    })
    clients.push(sub)
    const sentAt = new Map<string, number>()
    const latencies: number[] = []
    let received = 0
    let lastAt = 0
    sub.on('message', (topic, payload) => {
      const seq = (JSON.parse(payload.toString()) as { seq: number }).seq
      const key = `${topic}:${seq}`
      const t = sentAt.get(key)
      if (t !== undefined) {
        latencies.push(performance.now() - t)
        sentAt.delete(key)
      }
      received++
      lastAt = performance.now()
    })
    await sub.subscribeAsync('mytho/v1/devices/+/readings', { qos: 1 })

    const registry = loadRegistryFile()
    const devices = registry.devices.slice(0, DEVICES)
    const conns: { id: string; kind: string; client: MqttClient }[] = []
    for (const [i, d] of devices.entries()) {
      const client = await mqtt.connectAsync(urlOf(i), { clientId: d.id, username: d.id, password: secrets.devices[d.id]!, reconnectPeriod: 0 })
      clients.push(client)
      conns.push({ id: d.id, kind: d.kind, client })
    }
    const ts0 = Date.now() - 3_600_000
    let seqBase = 0
    const publish = async (n: number) => {
      const perDevice = Math.ceil(n / conns.length)
      await Promise.all(
        conns.map(
          ({ id, client }) =>
            new Promise<void>((resolve, reject) => {
              let i = 0
              let inflight = 0
              const pump = () => {
                while (inflight < WINDOW && i < perDevice) {
                  const seq = seqBase + i++
                  const topic = readingsTopic(id)
                  inflight++
                  sentAt.set(`${topic}:${seq}`, performance.now())
                  client.publish(topic, JSON.stringify({ kind: 'water_level', ts: ts0 + seq, seq, waterLevelCm: 120 + (seq % 60) }), { qos: 1 }, (err) => {
                    if (err) return reject(err)
                    inflight--
                    if (i >= perDevice && inflight === 0) resolve()
                    else pump()
                  })
                }
              }
              pump()
            }),
        ),
      )
      seqBase += perDevice
      return perDevice * conns.length
    }

    // Warm-up (JIT, Redis connections, session keys), not counted.
    const warm = await publish(2_000)
    await waitFor(() => received >= warm || undefined, { timeoutMs: 60_000, what: 'warm-up delivered' })
    received = 0
    latencies.length = 0
    sentAt.clear()

    const before = nodes.map((n) => procStats(n.child.pid!))
    const redisBefore: ProcStats | undefined = s.redis && redisPid ? procStats(redisPid) : undefined
    const benchBefore = process.cpuUsage()
    const t0 = performance.now()
    const sent = await publish(MESSAGES)
    await waitFor(() => received >= sent || undefined, { timeoutMs: 120_000, intervalMs: 5, what: `${sent} delivered (got ${received})` })
    const wallMs = lastAt - t0
    // Delivered is not done: the broker still removes each acknowledged message from the subscriber's queue (on
    // Redis: LREM, DECR, DEL per message, behind the deliveries on one connection). Done = the brokers and Redis
    // idle again (under 20 ms of CPU in 200 ms); the CPU is counted up to there.
    const busy = () => nodes.reduce((sum, n) => sum + procStats(n.child.pid!).cpuS, 0) + (s.redis && redisPid ? procStats(redisPid).cpuS : 0)
    let idleSince = performance.now()
    for (let prev = busy(); ; ) {
      await new Promise((r) => setTimeout(r, 200))
      const now = busy()
      if (now - prev < 0.02) break
      prev = now
      idleSince = performance.now()
    }
    const drainedMs = Math.max(wallMs, idleSince - t0)
    const per1k = (cpuS: number) => (cpuS * 1000 * 1000) / sent
    const bench = process.cpuUsage(benchBefore)
    const after = nodes.map((n) => procStats(n.child.pid!).cpuS)
    const redisAfter = redisPid ? procStats(redisPid).cpuS : 0
    latencies.sort((a, b) => a - b)
    const loaded = [...latencies]

    // Light load: one message every 1000/PACED_RATE ms, round-robin over the devices.
    received = 0
    latencies.length = 0
    for (let k = 0; k < PACED_MESSAGES; k++) {
      const { id, client } = conns[k % conns.length]!
      const seq = seqBase + k
      const topic = readingsTopic(id)
      sentAt.set(`${topic}:${seq}`, performance.now())
      client.publish(topic, JSON.stringify({ kind: 'water_level', ts: ts0 + seq, seq, waterLevelCm: 130 }), { qos: 1 })
      await new Promise((r) => setTimeout(r, 1000 / PACED_RATE))
    }
    await waitFor(() => received >= PACED_MESSAGES || undefined, { timeoutMs: 30_000, what: 'paced messages delivered' })
    latencies.sort((a, b) => a - b)
    return {
      pacedP50: quantile(latencies, 0.5),
      pacedP95: quantile(latencies, 0.95),
      scenario: s.name,
      rate: sent / (wallMs / 1000),
      drainedRate: sent / (drainedMs / 1000),
      p50: quantile(loaded, 0.5),
      p95: quantile(loaded, 0.95),
      brokerCpuMsPer1k: nodes.map((_, i) => per1k(after[i]! - before[i]!.cpuS)),
      redisCpuMsPer1k: redisBefore ? per1k(redisAfter - redisBefore.cpuS) : 0,
      benchCpuMsPer1k: per1k((bench.user + bench.system) / 1e6),
      wallS: wallMs / 1000,
    }
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)))
    for (const n of nodes) await n.stop()
    dir.cleanup()
  }
}

const redis = await startRedisServer()
const redisPid = childPidByName('redis-server')
const flush = async () => {
  const r = new Redis(redis.url)
  await r.flushall()
  r.disconnect()
}
const rounds: Result[][] = scenarios.map(() => [])
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [i, s] of scenarios.entries()) {
      await flush()
      const r = await runScenario(s, redis.url, redisPid)
      rounds[i]!.push(r)
      process.stderr.write(
        `round ${round} ${s.name}: ${Math.round(r.rate)} msg/s delivered, ${Math.round(r.drainedRate)} drained, p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, broker CPU ${r.brokerCpuMsPer1k.map((c) => c.toFixed(0)).join(' + ')} ms/1k, redis ${r.redisCpuMsPer1k.toFixed(0)} ms/1k, bench ${r.benchCpuMsPer1k.toFixed(0)} ms/1k; at ${PACED_RATE} msg/s p50 ${r.pacedP50.toFixed(1)} ms, p95 ${r.pacedP95.toFixed(1)} ms\n`,
      )
    }
  }
} finally {
  await redis.stop()
}

const f0 = (n: number) => Math.round(n).toLocaleString('en-US')
console.log(
  `${MESSAGES.toLocaleString('en-US')} QoS 1 messages, ${DEVICES} devices, window ${WINDOW}, persistent QoS 1 subscriber; median of ${ROUNDS} rounds by rate\n`,
)
console.log(
  `| setup | msg/s delivered (each round) | msg/s until drained | latency p50 / p95 at full load | at ${PACED_RATE} msg/s | broker CPU per 1,000 msgs | redis-server CPU per 1,000 msgs | load + subscriber process CPU per 1,000 msgs |`,
)
console.log('|---|---|---|---|---|---|---|---|')
for (const [i, s] of scenarios.entries()) {
  const sorted = [...rounds[i]!].sort((a, b) => a.rate - b.rate)
  const m = sorted[Math.floor(sorted.length / 2)]!
  const broker =
    m.brokerCpuMsPer1k.length > 1
      ? `${m.brokerCpuMsPer1k.map((c) => `${f0(c)}`).join(' + ')} = ${f0(m.brokerCpuMsPer1k.reduce((a, b) => a + b, 0))} ms`
      : `${f0(m.brokerCpuMsPer1k[0]!)} ms`
  console.log(
    `| ${s.name} | ${f0(m.rate)} (${rounds[i]!.map((r) => f0(r.rate)).join(', ')}) | ${f0(m.drainedRate)} | ${m.p50.toFixed(0)} / ${m.p95.toFixed(0)} ms | ${m.pacedP50.toFixed(1)} / ${m.pacedP95.toFixed(1)} ms | ${broker} | ${s.redis ? `${f0(m.redisCpuMsPer1k)} ms` : '—'} | ${f0(m.benchCpuMsPer1k)} ms |`,
  )
}
