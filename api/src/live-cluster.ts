import { createAdapter } from '@socket.io/redis-adapter'
import { Redis } from 'ioredis'
import type { IncidentChange } from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import type { LivePush } from './live-push.ts'

/*
 * Several API nodes behind one load balancer (issue #10). What a browser sees comes from two kinds of source:
 *
 * - The live stream (readings, device status, incidents raised by the ingest, pipeline health, the feed's own
 *   link): every node subscribes to the platform topics over MQTT itself, so every node's latest-state cache is
 *   complete and each node pushes to its own browsers. None of it crosses Redis: sent through the adapter,
 *   every reading would reach each browser once per node (or be sent once more per node just to be dropped).
 *   live-push.ts emits these with `io.local`.
 * - What one node does on a request: an operator's acknowledgement (POST /incidents/{id}/acknowledge writes the
 *   shared incident store; the ingest announces nothing for it) and an ended session (sign-out, a disabled
 *   operator, whose sockets may be open on any node). Only these go through the Socket.IO Redis adapter: the
 *   acknowledgement as a cluster-wide `incident` broadcast, the session check as a server-side event that
 *   makes every node re-check its own sockets.
 */

export class LiveClusterError extends Error {
  override name = 'LiveClusterError'
}

export interface LiveCluster {
  /** An incident change made on this node (an acknowledgement), to the browsers of every node. */
  announceIncident(change: IncidentChange): void
  /** Sessions ended on this node: every node drops the sockets it now refuses. */
  recheck(): void
  close(): Promise<void>
}

/** Redis channel prefix of the adapter, so the API's pub/sub never meets the broker's MQTT topics on a shared Redis. */
export const ADAPTER_KEY = 'mytho-api'

const redact = (url: string): string => url.replace(/\/\/([^@/]*)@/, '//***@')

/**
 * Puts the Socket.IO Redis adapter under `push.io`; call before the HTTP server listens. Fails fast, naming
 * REDIS_URL, when Redis does not answer within `connectTimeoutMs` (default 10,000).
 */
export async function joinLiveCluster(push: LivePush, redisUrl: string, deps: { logger: Logger; connectTimeoutMs?: number }): Promise<LiveCluster> {
  const where = redact(redisUrl)
  const pub = new Redis(redisUrl, { lazyConnect: true, connectionName: 'mytho-api-pub' })
  const sub = new Redis(redisUrl, { lazyConnect: true, connectionName: 'mytho-api-sub' })
  for (const [name, conn] of [
    ['pub', pub],
    ['sub', sub],
  ] as const) {
    // ioredis reconnects by itself; unheard, an 'error' event would end the process.
    conn.on('error', (err: Error) => deps.logger.warn('redis connection error', { conn: name, redis: where, err: err.message }))
  }
  const timeoutMs = deps.connectTimeoutMs ?? 10_000
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      Promise.all([pub.connect(), sub.connect()]),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
    ])
  } catch (err) {
    pub.disconnect()
    sub.disconnect()
    throw new LiveClusterError(`REDIS_URL ${where}: cannot reach Redis: ${(err as Error).message}`, { cause: err })
  } finally {
    clearTimeout(timer)
  }

  const io = push.io
  io.adapter(createAdapter(pub, sub, { key: ADAPTER_KEY }))
  io.on('recheck', () => {
    push.recheck().then(
      (dropped) => dropped > 0 && deps.logger.info('sockets dropped after sessions ended on another node', { dropped }),
      (err: unknown) => deps.logger.warn('re-checking live sockets failed', { err }),
    )
  })
  deps.logger.info('live push joined the API cluster on redis', { redis: where })

  let closed: Promise<void> | undefined
  return {
    // Once closing, nothing more goes to Redis: a publish on a closed connection rejects inside the adapter,
    // where nobody catches it (an unhandled "Connection is closed" seen in a test run).
    announceIncident: (change) => void (closed ? undefined : io.emit('incident', change)),
    recheck() {
      void push.recheck()
      if (!closed) io.serverSideEmit('recheck')
    },
    close: () =>
      (closed ??= (async () => {
        // The adapter unsubscribes on close; the connections go after it, QUIT letting pending replies arrive.
        await Promise.resolve(io.of('/').adapter.close())
        await Promise.all([pub.quit().catch(() => pub.disconnect()), sub.quit().catch(() => sub.disconnect())])
      })()),
  }
}
