import { createInfluxStore, type InfluxStore } from '@mytho/storage'
import { startInfluxd, type Influxd } from '@mytho/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ingestHealthReport } from '../src/metrics.ts'
import { startBroker, startIngest } from './pipeline.ts'

/*
 * The ingest's GET /health body says what storage could not set up: here an InfluxDB (1.6, auth on) where the ingest's
 * user may read and write but not create retention policies or continuous queries, as on InfluxDB 2.x, and no roll-up
 * policies exist. Still ready: a restart would not fix it.
 */
describe("the ingest's /health reports retention and roll-ups it cannot have", () => {
  let influx: Influxd
  let pipeline: Awaited<ReturnType<typeof startBroker>>
  let store: InfluxStore
  let ingest: ReturnType<typeof startIngest>

  beforeAll(async () => {
    influx = await startInfluxd({ authEnabled: true })
    const q = async (query: string, auth = 'u=root&p=root-pw') => {
      const res = await fetch(`${influx.url}/query?${auth}`, { method: 'POST', body: new URLSearchParams({ q: query }) })
      expect(res.status, await res.clone().text()).toBe(200)
    }
    await q(`CREATE USER "root" WITH PASSWORD 'root-pw' WITH ALL PRIVILEGES`, '')
    await q('CREATE DATABASE "city"')
    await q(`CREATE USER "ingest" WITH PASSWORD 'ingest-pw'`)
    await q('GRANT ALL ON "city" TO "ingest"')
    pipeline = await startBroker()
    store = createInfluxStore({ url: influx.url, database: 'city', username: 'ingest', password: 'ingest-pw', retention: { rawDays: 90 }, rollupEveryMs: 0 })
    ingest = startIngest(store, pipeline.mqttUrl, pipeline.dataDir)
    await ingest.start()
  })
  afterAll(async () => {
    await ingest?.stop()
    await store?.close()
    await pipeline?.cleanup()
    await influx?.stop()
  })

  it('names the missing roll-ups and the retention it could not set, and stays ready', () => {
    const report = ingestHealthReport(ingest)
    expect(report.ready).toBe(true)
    expect(report.detail).toMatchObject({
      service: 'ingest',
      status: 'ok',
      storageStatus: {
        backend: 'influxdb',
        rollups: 'none',
        retention: 'not_set',
        warnings: [
          expect.stringMatching(/autogen: asked 90 d, the server keeps forever/),
          expect.stringMatching(/roll-ups asked, .*rp_5m and rp_1h are missing/),
        ],
      },
    })
  })
})
