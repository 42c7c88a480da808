import { startInfluxd, type Influxd } from '@mytho/testing'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createInfluxHttp } from './influx-http.ts'
import { StorageError } from './port.ts'

/*
 * SELECTs are answered in MessagePack where the server speaks it (influx-http.ts). A real influxd 1.6.7 answers it;
 * the proxy in front records what was asked and what came back, and plays a server that does not speak it.
 */
let influxd: Influxd
const db = 'mytho_msgpack'
/** Past 2^32 ms: a time MessagePack carries as a 64-bit integer. */
const T0 = 1_796_403_600_000
beforeAll(async () => {
  influxd = await startInfluxd()
  const admin = createInfluxHttp({ url: influxd.url })
  await admin.query(`CREATE DATABASE ${db}`)
  // A float, an integer and a text field: each type MessagePack encodes its own way.
  const lines = Array.from(
    { length: 500 },
    (_, i) => `water_level,deviceId=g-${i % 2} waterLevelCm=${120 + i / 4},seq=${i}i,tsSource="device" ${T0 + i * 10_000}`,
  )
  await admin.write(db, lines.join('\n'), 'ms')
  admin.close()
})
afterAll(async () => {
  await influxd?.stop()
})

type Mode = 'pass' | 'json only' | 'refuse'
interface Seen {
  accept: string
  status: number
  type: string
  q: string
}

/** `json only`: the Accept header is dropped (the server answers JSON); `refuse`: 406 to MessagePack, in JSON. */
async function proxy(mode: Mode): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    const accept = String(req.headers.accept ?? '')
    const q = new URLSearchParams(body.toString('utf8')).get('q') ?? ''
    if (mode === 'refuse' && accept.includes('msgpack')) {
      seen.push({ accept, status: 406, type: 'application/json', q })
      res.writeHead(406, { 'content-type': 'application/json' })
      return void res.end(JSON.stringify({ message: `unsupported accept header ${accept}` }))
    }
    const headers: Record<string, string> = { 'content-type': String(req.headers['content-type'] ?? '') }
    if (mode === 'pass' && accept) headers['accept'] = accept
    const upstream = await fetch(new URL(req.url ?? '/', influxd.url), { method: 'POST', headers, body })
    const type = upstream.headers.get('content-type') ?? ''
    seen.push({ accept, status: upstream.status, type, q })
    res.writeHead(upstream.status, { 'content-type': type })
    res.end(Buffer.from(await upstream.arrayBuffer()))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

const select = `SELECT "waterLevelCm", "seq", "tsSource" FROM "water_level" GROUP BY "deviceId"`

/** The same SELECT read as JSON, straight from influxd: what every answer must equal. */
async function asJson(q: string) {
  const res = await fetch(`${influxd.url}/query?db=${db}&epoch=ms&q=${encodeURIComponent(q)}`)
  return ((await res.json()) as { results: { series: unknown[] }[] }).results.flatMap((r) => r.series)
}

describe('SELECT answers in MessagePack', () => {
  it('influxd 1.x: asked and answered in MessagePack, and the series are the ones JSON gives', async () => {
    const { url, seen } = await proxy('pass')
    const http = createInfluxHttp({ url })
    onTestFinished(() => http.close())
    const series = await http.query(select, db)
    expect(seen).toMatchObject([{ accept: 'application/x-msgpack', status: 200, type: 'application/x-msgpack' }])
    expect(series).toEqual(await asJson(select))
    expect(series).toHaveLength(2)
    expect(series[0]!.values[0]).toEqual([T0, 120, 0, 'device'])
  })

  it('anything but a SELECT, and RFC 3339 times, are asked in JSON', async () => {
    const { url, seen } = await proxy('pass')
    const http = createInfluxHttp({ url })
    onTestFinished(() => http.close())
    await http.query('SHOW DATABASES')
    await http.query(`CREATE DATABASE ${db}`)
    const [first] = await http.query(`SELECT "seq" FROM "water_level" WHERE "deviceId" = 'g-0' LIMIT 1`, db, 'rfc3339')
    expect(first!.values[0]![0]).toBe(new Date(T0).toISOString().replace('.000Z', 'Z'))
    expect(seen.map((s) => s.accept)).toEqual(['application/json', 'application/json', 'application/json'])
  })

  it("a refusal is read again in JSON: the server's own words, not MessagePack bytes", async () => {
    const { url, seen } = await proxy('pass')
    const http = createInfluxHttp({ url })
    onTestFinished(() => http.close())
    const err = await http.query('SELECT FROM WHERE', db).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect((err as Error).message).toMatch(/^influx query failed: HTTP 400: error parsing query: found FROM, expected identifier/)
    expect(seen.map((s) => [s.accept, s.type])).toEqual([
      ['application/x-msgpack', 'application/x-msgpack'],
      ['application/json', 'application/json'],
    ])
    // Still a server that speaks it: the next SELECT asks for MessagePack again.
    await http.query(select, db)
    expect(seen.at(-1)).toMatchObject({ accept: 'application/x-msgpack', type: 'application/x-msgpack' })
  })

  it('a statement error inside a 200 answer reads the same in MessagePack', async () => {
    const http = createInfluxHttp({ url: influxd.url })
    onTestFinished(() => http.close())
    await expect(http.query(select, 'no_such_db')).rejects.toThrow(/^influx query failed: database not found: no_such_db/)
  })

  it('a server that ignores the ask answers JSON, read by its content type', async () => {
    const { url, seen } = await proxy('json only')
    const http = createInfluxHttp({ url })
    onTestFinished(() => http.close())
    expect(await http.query(select, db)).toEqual(await asJson(select))
    expect(seen).toMatchObject([{ accept: 'application/x-msgpack', type: 'application/json' }])
  })

  it('a server that refuses MessagePack is asked in JSON, and from then on only in JSON', async () => {
    const { url, seen } = await proxy('refuse')
    const http = createInfluxHttp({ url })
    onTestFinished(() => http.close())
    expect(await http.query(select, db)).toEqual(await asJson(select))
    expect(await http.query(select, db)).toEqual(await asJson(select))
    expect(seen.map((s) => [s.accept, s.status])).toEqual([
      ['application/x-msgpack', 406],
      ['application/json', 200],
      ['application/json', 200],
    ])
  })
})
