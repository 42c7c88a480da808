import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * An InfluxDB without DELETE, as 2.x/3.x serve the v1 API, in front of a real influxd 1.x (which lets any user with
 * write rights DELETE): a DELETE statement is answered 501 Not Implemented, everything else is passed through.
 * `refused` holds the statements refused.
 */
export async function startInfluxWithoutDelete(influxUrl: string): Promise<{ url: string; refused: string[]; stop(): Promise<void> }> {
  const refused: string[] = []
  const server = createServer(async (req, res) => {
    try {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      const body = Buffer.concat(chunks)
      const url = new URL(req.url ?? '/', influxUrl)
      const q = new URLSearchParams(body.toString('utf8')).get('q') ?? url.searchParams.get('q') ?? ''
      if (url.pathname === '/query' && /^\s*DELETE\b/i.test(q)) {
        refused.push(q)
        res.writeHead(501, { 'content-type': 'application/json' })
        return void res.end(JSON.stringify({ code: 'not implemented', message: 'DELETE is not supported over the v1 API' }))
      }
      const headers: Record<string, string> = {}
      for (const h of ['content-type', 'authorization', 'accept']) {
        const v = req.headers[h]
        if (typeof v === 'string') headers[h] = v
      }
      const upstream = await fetch(url, { method: req.method ?? 'GET', headers, ...(req.method === 'POST' ? { body } : {}) })
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
      res.end(Buffer.from(await upstream.arrayBuffer()))
    } catch (err) {
      res.writeHead(502, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: `proxy: ${(err as Error).message}` }))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refused,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
