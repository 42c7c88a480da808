import type { Server as HttpServer } from 'node:http'
import { Server, type Socket } from 'socket.io'
import { z } from 'zod'
import { ViewSubscription, type ClientToServerEvents, type DeviceKind, type LiveDeviceState, type LiveFeedStatus, type ServerToClientEvents, type Ward } from '@mytho/schema'
import { once, type Logger } from '@mytho/runtime'
import type { LiveState } from './live-state.ts'

/*
 * Socket.IO live push. Each browser says what it views (bbox, zoom, kinds, wards); changed devices collect in
 * one set and are flushed every `flushMs` as one `updates` array per socket, holding only the devices in its
 * view and only their latest state. Measured before building it: one event per reading to 20 clients at
 * 5,000/s gave p99 36 ms and saturated; one array every 10 ms gave p99 3.4 ms.
 *
 * Per-socket memory is bounded: nothing is queued per socket. A socket whose transport still holds more than
 * `maxBacklog` unsent packets (a slow link) skips batches and, once drained, gets a fresh `snapshot` instead, so
 * it catches up with the current state rather than with every batch it missed.
 */

export interface LivePushOptions {
  /** Batch interval, ms. Default 50. */
  flushMs?: number
  /** Unsent packets a socket may hold before it is switched to catch-up-by-snapshot. Default 64. */
  maxBacklog?: number
}

export interface LivePushDeps {
  state: LiveState
  logger: Logger
  /** The feed's current link, sent to each new socket. */
  feedStatus: () => LiveFeedStatus
}

interface View {
  west: number
  south: number
  east: number
  north: number
  kinds: ReadonlySet<DeviceKind> | undefined
  wards: ReadonlySet<Ward> | undefined
}

interface SocketData {
  view: View | undefined
  /** Skipped batches while its link was backed up: send a snapshot when it drains. */
  resync: boolean
}

type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>

export const inView = (v: View, d: LiveDeviceState): boolean =>
  d.lon >= v.west && d.lon <= v.east && d.lat >= v.south && d.lat <= v.north && (!v.kinds || v.kinds.has(d.kind)) && (!v.wards || v.wards.has(d.ward))

function toView(s: ViewSubscription): View {
  const [west, south, east, north] = s.bbox
  // zoom is accepted and kept in the contract for server-side clustering later; filtering is by bbox alone.
  return { west, south, east, north, kinds: s.kinds && new Set(s.kinds), wards: s.wards && new Set(s.wards) }
}

export function createLivePush(http: HttpServer, options: LivePushOptions, deps: LivePushDeps) {
  const flushMs = options.flushMs ?? 50
  const maxBacklog = options.maxBacklog ?? 64
  const log = deps.logger
  const stats = { batches: 0, updatesSent: 0, snapshotsSent: 0, badViews: 0, skippedBacklogged: 0 }
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(http, { path: '/socket.io', serveClient: false })
  let changed = new Set<string>()
  const unsubscribe = deps.state.onChange((ids) => {
    for (const id of ids) changed.add(id)
  })

  const backlogOf = (s: LiveSocket): number => (s.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0

  const snapshotFor = (v: View): LiveDeviceState[] => deps.state.all().filter((d) => inView(v, d))

  const sendSnapshot = (s: LiveSocket, v: View): number => {
    const devices = snapshotFor(v)
    s.emit('snapshot', devices)
    stats.snapshotsSent++
    return devices.length
  }

  io.on('connection', (socket: LiveSocket) => {
    socket.data = { view: undefined, resync: false }
    socket.emit('feed', deps.feedStatus())
    socket.on('view', (raw: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (r: { ok: true; devices: number } | { ok: false; error: string }) => void) : () => {}
      const parsed = ViewSubscription.safeParse(raw)
      if (!parsed.success) {
        stats.badViews++
        log.debug('bad view subscription', { socket: socket.id, issues: parsed.error.issues.slice(0, 3) })
        reply({ ok: false, error: z.prettifyError(parsed.error) })
        return
      }
      const v = toView(parsed.data)
      socket.data.view = v
      socket.data.resync = false
      reply({ ok: true, devices: sendSnapshot(socket, v) })
    })
  })

  const flush = () => {
    if (changed.size === 0) return
    const ids = changed
    changed = new Set()
    const states: LiveDeviceState[] = []
    for (const id of ids) {
      const s = deps.state.get(id)
      if (s) states.push(s)
    }
    stats.batches++
    for (const socket of io.of('/').sockets.values() as Iterable<LiveSocket>) {
      const v = socket.data.view
      if (!v) continue
      if (backlogOf(socket) > maxBacklog) {
        socket.data.resync = true
        stats.skippedBacklogged++
        continue
      }
      if (socket.data.resync) {
        socket.data.resync = false
        sendSnapshot(socket, v)
        continue
      }
      const mine = states.filter((d) => inView(v, d))
      if (mine.length === 0) continue
      socket.emit('updates', mine)
      stats.updatesSent += mine.length
    }
  }
  const timer = setInterval(flush, flushMs)
  timer.unref()

  return {
    stats,
    io,
    /** Tells every browser the server's own stream went up or down. */
    announceFeed(status: LiveFeedStatus): void {
      io.emit('feed', status)
    },
    stop: once(async () => {
      clearInterval(timer)
      unsubscribe()
      io.disconnectSockets(true)
      // Not io.close(): that would also close the HTTP server, which the API owns.
      io.engine.close()
    }),
  }
}
export type LivePush = ReturnType<typeof createLivePush>
