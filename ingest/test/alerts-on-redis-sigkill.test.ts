import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { redisOperatorIncidents } from '@mytho/alerts'
import { readDemoSecrets, silentLogger } from '@mytho/runtime'
import { connectDevice, makeTempDir, publishReading, startInfluxd, startRedisServer, waitFor, type Influxd, type RedisServer } from '@mytho/testing'
import { countStored, loadBrokerEnv } from './fault-load.ts'
import { startWorker, type WorkerEnv } from './partition-harness.ts'

/*
 * Alert state on Redis (REDIS_URL) survives the SIGKILL of the ingest worker that wrote it: the ingest acknowledges
 * a batch to the broker only once the incident it raised and its hold record are in Redis. Redis is made to hold
 * writes back (CLIENT PAUSE WRITE) while the reading is stored and evaluated and the worker is killed then: had it
 * acknowledged before the commit, the broker would have dropped the message and the incident would be lost; as it
 * did not, the broker gives the message to the next worker. Real broker, influxd, redis-server and ingest
 * processes; the next worker escalates the same incident, so the hold record came back too.
 */
describe('alert state on Redis across an ingest SIGKILL', () => {
  const dir = makeTempDir('mytho-alerts-redis-kill-')
  let influxd: Influxd
  let redis: RedisServer

  beforeAll(async () => {
    ;[influxd, redis] = await Promise.all([startInfluxd(), startRedisServer()])
  })
  afterAll(async () => {
    await influxd?.stop()
    await redis?.stop()
    dir.cleanup()
  })

  it('an incident acknowledged to the device is in Redis when the worker dies right after; the next worker continues it', async () => {
    const broker = await createBroker(loadBrokerConfig({ ...loadBrokerEnv, DATA_DIR: dir.path, MQTT_PORT: '0' }), { logger: silentLogger })
    onTestFinished(() => broker.stop())
    const mqttUrl = `mqtt://127.0.0.1:${(await broker.start()).mqttPort}`
    // A long lease: the pause below also holds back the lease renewals.
    const env: WorkerEnv = { mqttUrl, dataDir: dir.path, influxUrl: influxd.url, redisUrl: redis.url, partitions: 2, leaseTtlMs: 5_000 }
    const alerts = { ALERTS_ENABLED: 'true', ALERT_TICK_MS: '200' }
    const first = await startWorker('a1', env, alerts)
    onTestFinished(() => first.kill('SIGKILL'))
    await waitFor(() => first.owned().length === 2, { timeoutMs: 15_000, what: 'the worker to own both partitions' })

    const admin = new Redis(redis.url)
    onTestFinished(() => void admin.quit())
    const incidents = redisOperatorIncidents(admin)
    const id = 'wl-hydro-station'
    const dev = await connectDevice(mqttUrl, id, readDemoSecrets(dir.path)!.devices[id]!)
    onTestFinished(() => dev.endAsync(true))

    const t = Date.now()
    const pauseMs = 2_500
    await admin.call('CLIENT', 'PAUSE', String(pauseMs), 'WRITE')
    const pausedAt = Date.now()
    // BĐ II wanted for 6 minutes of device time: raised in this one batch.
    await publishReading(dev, id, [
      { kind: 'water_level', ts: t - 12 * 60_000, waterLevelCm: 152 },
      { kind: 'water_level', ts: t - 6 * 60_000, waterLevelCm: 153 },
    ])
    // Stored and evaluated; the commit of what it raised waits on Redis, and so must the acknowledgement.
    await waitFor(async () => ((await countStored(influxd.url, t - 13 * 60_000)).stored >= 2 ? true : undefined), {
      timeoutMs: pauseMs,
      what: 'the reading stored',
    })
    await first.kill('SIGKILL')
    expect(Date.now() - pausedAt).toBeLessThan(pauseMs)
    await new Promise((r) => setTimeout(r, pauseMs - (Date.now() - pausedAt) + 100))

    const next = await startWorker('a2', env, alerts)
    onTestFinished(() => next.kill('SIGKILL'))
    // The broker gives the unacknowledged message to the next worker, which raises the incident again if it was lost.
    const raised = await waitFor(async () => (await incidents.list({ deviceId: id }))[0], { timeoutMs: 25_000, what: 'the incident in Redis' })
    expect(raised).toMatchObject({ ruleId: 'flood', level: 2, state: 'open', raisedAt: t - 6 * 60_000 })
    expect(JSON.parse((await admin.hget(`mytho:alerts:hold:${id}`, 'flood'))!)).toMatchObject({ incidentId: raised.id, hold: { level: 2 } })
    await waitFor(() => next.owned().length === 2, { timeoutMs: 25_000, what: 'the next worker to own both partitions' })
    await publishReading(dev, id, [
      { kind: 'water_level', ts: t - 5 * 60_000, waterLevelCm: 165 },
      { kind: 'water_level', ts: t, waterLevelCm: 166 },
    ])
    const after = await waitFor(async () => ((await incidents.list({ deviceId: id }))[0]?.level === 3 ? incidents.list({ deviceId: id }) : undefined), {
      what: 'the escalation',
    })
    expect(after.map((i) => [i.id, i.level, i.severity, i.events.map((e) => e.type).join(',')])).toEqual([[raised.id, 3, 'critical', 'raised,escalated']])
    expect(next.output()).not.toMatch(/"level":"error"/)
  }, 90_000)
})
