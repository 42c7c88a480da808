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
 * Pinning (issue #20, BENCH_PIN=0 turns it off): each broker node runs under `taskset`, node A on CPU 0 and node B on
 * CPU 1; this process (devices and subscriber) and redis-server are not pinned and share both CPUs with the nodes. On
 * a 2-core machine nothing else is possible: with two nodes there is no CPU left for the load and Redis alone.
 * Acknowledged = stored: every publish the devices had acknowledged reached the subscriber (the ingest's stand-in),
 * and once drained Redis holds no queue entry and no packet (the queue's "stored" ends as "delivered and removed").
 * Redis commands per message: INFO commandstats over the timed part, all nodes together; Redis counts the script call
 * and each command the script runs, so this is Redis's work, not the number of round trips.
 * The nodes run with the node flags compose gives them (BENCH_BROKER_FLAGS, default --heap-growing-percent=100).
 *
 *   npx tsx platform/bench/cluster.ts      BENCH_MESSAGES (100000) BENCH_DEVICES (50) BENCH_ROUNDS (3) BENCH_ONLY (e.g. Redis)
 *   BENCH_ONLY=cluster npm run bench       the Redis setups, with the issue #20 target (≤ 60 µs broker CPU per message on one node)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpus } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'
import mqtt, { type MqttClient } from 'mqtt'
import { Redis } from 'ioredis'
import { loadRegistryFile, readingsTopic } from '@mytho/schema'
import { readDemoSecrets, SERVICE_ACCOUNTS, type DemoSecrets } from '@mytho/runtime'
import { childPidByName, freePort, makeTempDir, procStats, startRedisServer, waitFor, type ProcStats } from '@mytho/testing'
import { nodeFlagsFor } from './deployed-flags.ts'

const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 100_000)
const DEVICES = Number(process.env['BENCH_DEVICES'] ?? 50)
const CPU_PROF = process.env['BENCH_CPU_PROF']
/** As docker-compose.yml runs a cluster node (broker-2); BENCH_BROKER_FLAGS='' runs the nodes with V8's defaults. */
const NODE_FLAGS = nodeFlagsFor('broker-2', 'BENCH_BROKER_FLAGS')
/** Node i on CPU i (of the first two): without two CPUs, or with BENCH_PIN=0, nothing is pinned. */
const PIN = process.env['BENCH_PIN'] !== '0' && cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0
/** Issue #20: broker CPU per message of one node on Redis. */
export const TARGET_NODE_CPU_US = 60
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

export interface Result {
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
  /** Publishes the devices had acknowledged, and of those the distinct ones the subscriber received. */
  acked: number
  delivered: number
  /** Received more than once (QoS 1 allows it; counted, not lost). */
  duplicates: number
  /** Once drained: queue entries and packets still in Redis (0 = everything acknowledged was delivered and removed). */
  leftInRedis: number
  /** Redis commands per message, all nodes (INFO commandstats: a script call and each command it runs). */
  redisCallsPerMsg: number
  /** The CPU each node was pinned to, or undefined. */
  pinned: (number | undefined)[]
}

interface Node {
  child: ChildProcess
  port: number
  stop(): Promise<void>
}

async function startNode(env: Record<string, string>, cpu: number | undefined): Promise<Node> {
  const port = await freePort()
  let out = ''
  const node = [process.execPath, ...NODE_FLAGS, ...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : []), '--import', 'tsx', 'broker/src/main.ts']
  // taskset execs node: the child's pid is the node's.
  const [cmd, ...args] = cpu === undefined ? node : ['taskset', '-c', String(cpu), ...node]
  const child = spawn(cmd!, args, {
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

const SUBSCRIBER_ID = 'mytho-ingest-bench'

/** Redis commands served so far (INFO commandstats, without INFO and CONFIG themselves). */
async function redisCalls(admin: Redis): Promise<number> {
  let calls = 0
  for (const m of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    if (!/^(info|config|keys|llen|dbsize)/.test(m[1]!)) calls += Number(m[2])
  return calls
}

async function runScenario(s: Scenario, redisUrl: string, redisPid: number | undefined): Promise<Result> {
  const dir = makeTempDir('mytho-bench-cluster-')
  const nodes: Node[] = []
  const clients: MqttClient[] = []
  try {
    const env: Record<string, string> = { DATA_DIR: dir.path, ...(s.redis ? { REDIS_URL: redisUrl } : { MQTT_PERSISTENCE: s.persistence ?? 'memory' }) }
    const pinned = Array.from({ length: s.nodes }, (_, i) => (PIN ? i : undefined))
    for (let i = 0; i < s.nodes; i++) nodes.push(await startNode(env, pinned[i])) // one after the other: the first seeds the credentials
    const secrets: DemoSecrets = readDemoSecrets(dir.path)!
    const urlOf = (i: number) => `mqtt://127.0.0.1:${nodes[i % nodes.length]!.port}`

    // The subscriber on the last node: with two nodes, the devices on node A cross Redis to reach it.
    const sub = await mqtt.connectAsync(urlOf(nodes.length - 1), {
      clientId: SUBSCRIBER_ID,
      clean: false,
      username: SERVICE_ACCOUNTS.ingest,
      password: secrets.services[SERVICE_ACCOUNTS.ingest]!,
      reconnectPeriod: 0,
    })
    clients.push(sub)
    const sentAt = new Map<string, number>()
    const latencies: number[] = []
    /** Acknowledged to a device, and received by the subscriber, in the timed part (topic:seq). */
    const acked = new Set<string>()
    const got = new Set<string>()
    let timed = false
    let duplicates = 0
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
      if (timed) {
        if (got.has(key)) duplicates++
        got.add(key)
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
                    if (timed) acked.add(`${topic}:${seq}`)
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
    const warm = await publish(10_000)
    await waitFor(() => received >= warm || undefined, { timeoutMs: 60_000, what: 'warm-up delivered' })
    received = 0
    latencies.length = 0
    sentAt.clear()

    const admin = s.redis ? new Redis(redisUrl) : undefined
    const callsBefore = admin ? await redisCalls(admin) : 0
    timed = true
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
    timed = false
    let leftInRedis = 0
    let redisCallsPerMsg = 0
    if (admin) {
      redisCallsPerMsg = ((await redisCalls(admin)) - callsBefore) / sent
      // Drained means this: the subscriber's queue empty and no packet left (each removed once acknowledged by all).
      leftInRedis = (await admin.llen(`outgoing:${SUBSCRIBER_ID}`)) + (await admin.keys('packet:*')).length
      admin.disconnect()
    }
    const delivered = [...acked].filter((k) => got.has(k)).length
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
      acked: acked.size,
      delivered,
      duplicates,
      leftInRedis,
      redisCallsPerMsg,
      pinned,
    }
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)))
    for (const n of nodes) await n.stop()
    dir.cleanup()
  }
}

export interface ClusterRun {
  /** Median round (by delivered rate) of each setup, with every round's rate. */
  setups: { name: string; nodes: number; redis: boolean; median: Result; rates: number[] }[]
  /** The table (markdown), with the run's parameters above it. */
  table: string
}

const f0 = (n: number) => Math.round(n).toLocaleString('en-US')

/** Runs the setups whose name contains `only` (all when undefined), `rounds` times each, interleaved. */
export async function runClusterBench(opts: { only?: string | undefined; rounds?: number; log?: (line: string) => void } = {}): Promise<ClusterRun> {
  const rounds = opts.rounds ?? 3
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const scenarios = allScenarios.filter((s) => opts.only === undefined || s.name.includes(opts.only))
  const redis = await startRedisServer()
  const redisPid = childPidByName('redis-server')
  const flush = async () => {
    const r = new Redis(redis.url)
    await r.flushall()
    r.disconnect()
  }
  const results: Result[][] = scenarios.map(() => [])
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const [i, s] of scenarios.entries()) {
        await flush()
        const r = await runScenario(s, redis.url, redisPid)
        results[i]!.push(r)
        log(
          `round ${round} ${s.name}: ${Math.round(r.rate)} msg/s delivered, ${Math.round(r.drainedRate)} drained, p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, broker CPU ${r.brokerCpuMsPer1k.map((c) => c.toFixed(0)).join(' + ')} µs/msg, redis ${r.redisCpuMsPer1k.toFixed(0)} µs/msg, ${r.redisCallsPerMsg.toFixed(1)} redis commands/msg, bench ${r.benchCpuMsPer1k.toFixed(0)} µs/msg; acked ${r.acked}, delivered ${r.delivered}, left in redis ${r.leftInRedis}; at ${PACED_RATE} msg/s p50 ${r.pacedP50.toFixed(1)} ms, p95 ${r.pacedP95.toFixed(1)} ms`,
        )
      }
    }
  } finally {
    await redis.stop()
  }

  const setups = scenarios.map((s, i) => {
    const sorted = [...results[i]!].sort((a, b) => a.rate - b.rate)
    return { name: s.name, nodes: s.nodes, redis: s.redis, median: sorted[Math.floor(sorted.length / 2)]!, rates: results[i]!.map((r) => r.rate) }
  })
  const where = (m: Result) => (m.pinned.every((c) => c === undefined) ? 'not pinned' : m.pinned.map((c, i) => `node ${'AB'[i]} CPU ${c}`).join(', '))
  let table = `${MESSAGES.toLocaleString('en-US')} QoS 1 messages, ${DEVICES} devices, window ${WINDOW}, persistent QoS 1 subscriber; median of ${rounds} rounds by rate; nodes: ${NODE_FLAGS.join(' ') || 'V8 defaults'}; pinning: ${PIN ? 'node A on CPU 0, node B on CPU 1 (taskset), load generator + subscriber + redis-server not pinned (they share both CPUs)' : 'none'}\n\n`
  table += `| setup | msg/s delivered (each round) | msg/s until drained | broker CPU µs per message | redis-server CPU µs per message | Redis commands per message (a script's inner commands too) | load + subscriber CPU µs per message | latency p50 / p95 at full load | at ${PACED_RATE} msg/s | acknowledged = delivered, nothing left in Redis |\n`
  table += '|---|---|---|---|---|---|---|---|---|---|\n'
  for (const { name, redis: onRedis, median: m, rates } of setups) {
    const broker =
      m.brokerCpuMsPer1k.length > 1
        ? `${m.brokerCpuMsPer1k.map((c, i) => `${f0(c)} (${'AB'[i]})`).join(' + ')} = ${f0(m.brokerCpuMsPer1k.reduce((a, b) => a + b, 0))}`
        : f0(m.brokerCpuMsPer1k[0]!)
    const kept = `${f0(m.acked)} acknowledged, ${f0(m.delivered)} delivered${m.duplicates ? ` (+${f0(m.duplicates)} duplicates)` : ''}${onRedis ? `, ${f0(m.leftInRedis)} left in Redis` : ''}`
    table += `| ${name} (${where(m)}) | ${f0(m.rate)} (${rates.map(f0).join(', ')}) | ${f0(m.drainedRate)} | ${broker} | ${onRedis ? f0(m.redisCpuMsPer1k) : '—'} | ${onRedis ? m.redisCallsPerMsg.toFixed(1) : '—'} | ${f0(m.benchCpuMsPer1k)} | ${m.p50.toFixed(0)} / ${m.p95.toFixed(0)} ms | ${m.pacedP50.toFixed(1)} / ${m.pacedP95.toFixed(1)} ms | ${kept} |\n`
  }
  return { setups, table }
}

/** Acknowledged = stored for a setup: every acknowledged publish delivered, and on Redis nothing left behind. */
export const keptEverything = (m: Result): boolean => m.delivered === m.acked && m.acked > 0 && m.leftInRedis === 0

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const run = await runClusterBench({ only: process.env['BENCH_ONLY'], rounds: Number(process.env['BENCH_ROUNDS'] ?? 3) })
  console.log(run.table)
}
