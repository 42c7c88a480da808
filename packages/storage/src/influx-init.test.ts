import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startInfluxd, type Influxd } from '@mytho/testing'
import { reading } from './contract.test-suite.ts'
import { createInfluxStore } from './influx-store.ts'

/*
 * A server that will not let us CREATE DATABASE (InfluxDB 2.x/3.x's read-only v1 /query, or a 1.x user without
 * admin rights, which is what is tested here on a real influxd with auth on): init() accepts an existing database
 * and names what to create when it is missing.
 */
describe('InfluxDB init without the right to create databases', () => {
  let influx: Influxd
  const q = async (query: string, auth: string) => {
    const res = await fetch(`${influx.url}/query?${auth}`, { method: 'POST', body: new URLSearchParams({ q: query }) })
    expect(res.status, await res.clone().text()).toBe(200)
  }

  beforeAll(async () => {
    influx = await startInfluxd({ authEnabled: true })
    await q(`CREATE USER "root" WITH PASSWORD 'root-pw' WITH ALL PRIVILEGES`, '')
    await q('CREATE DATABASE "city"', 'u=root&p=root-pw')
    await q(`CREATE USER "writer" WITH PASSWORD 'writer-pw'`, 'u=root&p=root-pw')
    await q('GRANT ALL ON "city" TO "writer"', 'u=root&p=root-pw')
  })
  afterAll(async () => {
    await influx?.stop()
  })

  it('uses an existing database it may not create', async () => {
    const store = createInfluxStore({ url: influx.url, database: 'city', username: 'writer', password: 'writer-pw' })
    await store.init()
    const r = reading({ deviceId: 'wl-hydro-station' })
    await store.writeReadings([r])
    expect((await store.latest(['wl-hydro-station']))[0]?.ts).toBe(r.ts)
    await store.close()
  })

  it('names the bucket to create when the database is missing', async () => {
    const store = createInfluxStore({ url: influx.url, database: 'nowhere', username: 'writer', password: 'writer-pw' })
    await expect(store.init()).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/create a bucket named nowhere/) })
    await store.close()
  })
})
