import mqtt from 'mqtt'
import { PipelineHealth, PLATFORM_HEALTH_TOPIC } from '@mytho/schema'
import { SERVICE_ACCOUNTS, type DemoSecrets } from '@mytho/runtime'
import { waitFor } from '@mytho/testing'
import { spawnService, type Child } from './fault-load.ts'

/*
 * Ingest workers sharing the stream (INGEST_PARTITIONS > 0) for the partition tests and ingest/bench: real
 * ingest processes on one Redis, what each says it owns (its `partitions owned` log lines), and each worker's
 * own pipeline health (retained messages are overwritten by the next worker's, so they are followed live).
 */

export interface Worker extends Child {
  id: string
  /** The partitions this worker last said it owns. */
  owned(): number[]
}

export interface WorkerEnv {
  mqttUrl: string
  dataDir: string
  influxUrl: string
  redisUrl: string
  partitions: number
  leaseTtlMs: number
}

export async function startWorker(id: string, w: WorkerEnv, extra: Record<string, string> = {}): Promise<Worker> {
  const child = spawnService('ingest/src/main.ts', {
    MQTT_URL: w.mqttUrl,
    DATA_DIR: w.dataDir,
    INFLUX_URL: w.influxUrl,
    REDIS_URL: w.redisUrl,
    INGEST_PARTITIONS: String(w.partitions),
    INGEST_LEASE_TTL_MS: String(w.leaseTtlMs),
    INGEST_WORKER_ID: id,
    ALERTS_ENABLED: 'false',
    INGEST_BATCH_WAIT_MS: '10',
    INGEST_HEALTH_INTERVAL_MS: '300',
    ...extra,
  })
  const owned = (): number[] => {
    let last: number[] = []
    for (const line of child.output().split('\n')) {
      if (!line.includes('"partitions owned"')) continue
      try {
        last = (JSON.parse(line) as { owned: number[] }).owned
      } catch {
        // a line cut by the output buffer's start
      }
    }
    return last
  }
  await waitFor(() => child.output().includes('ingest subscribed') || child.child.exitCode !== null, {
    timeoutMs: 30_000,
    what: `ingest worker ${id} to start`,
  })
  if (child.child.exitCode !== null) throw new Error(`worker ${id} exited:\n${child.output()}`)
  return { ...child, id, owned }
}

/** True when the workers' partitions are disjoint and together all of 0 … P − 1, and each worker owns at least `min`. */
export function splitCovers(workers: readonly Worker[], partitions: number, min = 1): boolean {
  const seen = new Set<number>()
  for (const w of workers) {
    const o = w.owned()
    if (o.length < min) return false
    for (const i of o) {
      if (seen.has(i)) return false
      seen.add(i)
    }
  }
  return seen.size === partitions
}

/** Follows every worker's pipeline health (clientId = worker id), as the API would, keeping the latest of each. */
export async function watchWorkersHealth(mqttUrl: string, secrets: DemoSecrets) {
  const client = await mqtt.connectAsync(mqttUrl, {
    clientId: `mytho-api-watch-${process.pid}-${Date.now() % 1e6}`,
    username: SERVICE_ACCOUNTS.api,
    password: secrets.services[SERVICE_ACCOUNTS.api]!,
    reconnectPeriod: 250,
  })
  client.on('error', () => {})
  const latest = new Map<string, PipelineHealth>()
  client.on('message', (_topic, payload) => {
    const parsed = PipelineHealth.safeParse(JSON.parse(payload.toString()))
    if (parsed.success) latest.set(parsed.data.clientId, parsed.data)
  })
  await client.subscribeAsync(PLATFORM_HEALTH_TOPIC, { qos: 0 })
  return {
    latest,
    /** Messages received by all the workers (while each publishes its health). */
    received: (ids: readonly string[]) => ids.reduce((n, id) => n + (latest.get(id)?.mqtt.received ?? 0), 0),
    /** Of those, the ones the broker sent again (DUP): what a partition's next owner got unacknowledged. */
    redelivered: (ids: readonly string[]) => ids.reduce((n, id) => n + (latest.get(id)?.mqtt.redelivered ?? 0), 0),
    stop: () => client.endAsync(),
  }
}
