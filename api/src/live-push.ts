import type { IncomingMessage, Server as HttpServer } from 'node:http'
import { Server, type Socket } from 'socket.io'
import { z } from 'zod'
import {
  HandshakeAuth,
  ViewSubscription,
  type ClientToServerEvents,
  type DeviceKind,
  type Incident,
  type IncidentChange,
  type LiveDeviceState,
  type LiveFeedStatus,
  type PipelineHealth,
  type ServerToClientEvents,
  type StoredReading,
  type Ward,
} from '@mytho/schema'
import { encodeSnapshot } from '@mytho/schema/live-snapshot'
import { once, type Logger } from '@mytho/runtime'
import { createFirstViewIndex } from './first-view-clusters.ts'
import type { LiveState } from './live-state.ts'

/*
 * Socket.IO live push. Each browser says what it views (bbox, zoom, kinds, wards); changed devices collect in
 * one set and are flushed at most every `flushMs` as one `updates` array per socket, holding only the devices in its
 * view and only their latest state. Measured before building it: one event per reading to 20 clients at
 * 5,000/s gave p99 36 ms and saturated; one array every 10 ms gave p99 3.4 ms.
 *
 * Sockets with the same view share one encoded message (socket.io encodes a room broadcast once), which is what
 * keeps 20 operators on the whole-city view cheap.
 *
 * Per-socket memory is bounded: a socket whose transport still holds more than `maxBacklog` unsent packets (a slow
 * link) is skipped; the ids of its changed in-view devices collect in a set (at most the registry's size) and, once
 * its link drains, it gets their current state in one `updates` array. It catches up with the present, not with
 * every batch it missed.
 */

export interface LivePushOptions {
  /** Shortest time between two flushes, ms. Default 10 (measured at 5,000 readings/s and 20 clients: p99 14 ms at 10 ms, 55–77 ms at 20 ms). */
  flushMs?: number
  /** Unsent packets a socket may hold before it is switched to catch-up-by-snapshot. Default 64. */
  maxBacklog?: number
}

export interface LivePushDeps {
  state: LiveState
  logger: Logger
  /** The feed's current link, sent to each new socket. */
  feedStatus: () => LiveFeedStatus
  /** Active incidents, sent to each new socket (also after a reconnect). */
  activeIncidents?: () => Incident[]
  /** The ingest's last pipeline health, sent to each new socket when known. */
  pipeline?: () => PipelineHealth | undefined
  /**
   * Checks a browser's handshake (session cookie, role, origin) before it gets anything; returns why it
   * is refused (the client's connect_error message: 'sign-in required', 'forbidden'), or undefined. Default: everyone.
   */
  admit?: (req: IncomingMessage) => string | undefined | Promise<string | undefined>
  /**
   * Seconds from the ingest's receive time of a live reading (`receivedAt`) to the push that took it to at least one
   * browser (metrics.ts: publish→browser latency). Once per device and push, for its newest live reading.
   */
  onPushLatency?: (seconds: number) => void
}

interface View {
  /** Same key, same filter: such sockets share one broadcast. */
  key: string
  west: number
  south: number
  east: number
  north: number
  kinds: ReadonlySet<DeviceKind> | undefined
  wards: ReadonlySet<Ward> | undefined
}

interface SocketData {
  view: View | undefined
  /** Changed in-view devices not sent while its link was backed up; sent as one array once it drains. */
  pending: Set<string> | undefined
  /** Its handshake asked for snapshots in columns (the map: issue #4's first render). */
  columns: boolean
}

/** The handshake view's first snapshot carries its clusters (first-view-clusters.ts): columns asked, no kinds or wards filter. */
const wantsClusters = (auth: HandshakeAuth, v: ViewSubscription): boolean => auth.clusters === true && auth.snapshot === 'columns' && !v.kinds && !v.wards

/**
 * Server-side events between API nodes (Socket.IO's third type parameter), sent by live-cluster.ts through the Redis
 * adapter. Declared here, beside the server they type, so live-cluster.ts imports this module and not the reverse.
 */
export interface InterNodeEvents {
  /** Sessions ended on another node: re-check the handshake of every socket here. */
  recheck: () => void
}

type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterNodeEvents, SocketData>

export const inView = (v: View, d: LiveDeviceState): boolean =>
  d.lon >= v.west && d.lon <= v.east && d.lat >= v.south && d.lat <= v.north && (!v.kinds || v.kinds.has(d.kind)) && (!v.wards || v.wards.has(d.ward))

function toView(s: ViewSubscription): View {
  const [west, south, east, north] = s.bbox
  // filtering is by bbox alone; the zoom serves the handshake view's clusters (first-view-clusters.ts)
  const kinds = s.kinds && [...new Set(s.kinds)].sort()
  const wards = s.wards && [...new Set(s.wards)].sort()
  const key = JSON.stringify([s.bbox, kinds ?? null, wards ?? null])
  return { key, west, south, east, north, kinds: kinds && new Set(kinds), wards: wards && new Set(wards) }
}

const pipelineKey = (h: PipelineHealth): string =>
  JSON.stringify([h.status, h.storage.up, h.spool.depth, h.spool.full, h.spool.oldestAgeMs === null ? null : Math.floor(h.spool.oldestAgeMs / 60_000)])

export function createLivePush(http: HttpServer, options: LivePushOptions, deps: LivePushDeps) {
  const flushMs = options.flushMs ?? 10
  const maxBacklog = options.maxBacklog ?? 64
  const log = deps.logger
  const stats = { batches: 0, updatesSent: 0, snapshotsSent: 0, badViews: 0, skippedBacklogged: 0, firstViewClusters: 0, firstViewErrors: 0, removedSent: 0 }
  const firstView = createFirstViewIndex(deps.state)
  // built before the first browser asks: a build on its answer's path would cost more than it saves (first-view-clusters.ts)
  const warmTimer = setTimeout(() => firstView.warm(), 0)
  warmTimer.unref()
  const io = new Server<ClientToServerEvents, ServerToClientEvents, InterNodeEvents, SocketData>(http, { path: '/socket.io', serveClient: false })
  let changed = new Set<string>()
  /**
   * Devices with a reading from the live feed since the last flush, and the newest one's receivedAt. Only these are
   * timed: a change from storage (hydrate after a reconnect) or from a connection status carries an old receivedAt
   * that says nothing about the live path.
   */
  let fresh = new Map<string, number>()
  let lastPipelineKey: string | undefined
  io.use(async (socket, next) => {
    let refused: string | undefined
    try {
      refused = await deps.admit?.(socket.request)
    } catch (err) {
      // The session store unreachable: refused like a missing session, never let in unchecked.
      log.warn('live socket handshake check failed', { err })
      refused = 'sign-in check failed'
    }
    if (refused === undefined) return next()
    log.debug('live socket refused', { reason: refused })
    next(new Error(refused))
  })
  const unsubscribe = deps.state.onChange((ids) => {
    for (const id of ids) changed.add(id)
    schedule()
  })
  /** Devices that left the registry since the last flush; sent to every socket, whatever it views. */
  let removed = new Set<string>()
  const unsubscribeRemoved = deps.state.onRemoved((ids) => {
    for (const id of ids) removed.add(id)
    schedule()
  })

  const backlogOf = (s: LiveSocket): number => (s.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0

  const snapshotFor = (v: View): LiveDeviceState[] => deps.state.all().filter((d) => inView(v, d))

  const sendSnapshot = (s: LiveSocket, v: View, clustersOf?: ViewSubscription): number => {
    const devices = snapshotFor(v)
    if (s.data.columns) {
      // Their own event, before the snapshot is encoded: a few kB that reach the page 20–130 ms before the ~0.45 MB
      // snapshot at 10,000 devices (measured with platform/bench/map-fps.ts), so the map draws without waiting for it.
      // Read in the same tick as the snapshot: both show the same state.
      if (clustersOf)
        try {
          s.emit('firstView', firstView.clusters(clustersOf.bbox, clustersOf.zoom))
          stats.firstViewClusters++
        } catch (err) {
          // the map builds its own index from the snapshot, as before
          stats.firstViewErrors++
          log.warn('first view clusters failed', { err })
        }
      s.emit('snapshotColumns', encodeSnapshot(devices))
    } else s.emit('snapshot', devices)
    stats.snapshotsSent++
    return devices.length
  }

  io.on('connection', (socket: LiveSocket) => {
    // a view in the handshake: the snapshot leaves with the connection, no `view` round trip (the map's first render)
    const auth = HandshakeAuth.safeParse(socket.handshake.auth)
    socket.data = { view: undefined, pending: undefined, columns: auth.success && auth.data.snapshot === 'columns' }
    socket.emit('feed', deps.feedStatus())
    if (deps.activeIncidents) socket.emit('incidents', deps.activeIncidents())
    const health = deps.pipeline?.()
    if (health) socket.emit('pipeline', health)
    const subscribe = (parsed: ViewSubscription, withClusters = false): number => {
      const v = toView(parsed)
      socket.data.view = v
      socket.data.pending = undefined
      return sendSnapshot(socket, v, withClusters ? parsed : undefined)
    }
    if (!auth.success) {
      stats.badViews++
      log.debug('bad handshake view', { socket: socket.id, issues: auth.error.issues.slice(0, 3) })
    } else if (auth.data.view) subscribe(auth.data.view, wantsClusters(auth.data, auth.data.view))
    socket.on('view', (raw: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (r: { ok: true; devices: number } | { ok: false; error: string }) => void) : () => {}
      const parsed = ViewSubscription.safeParse(raw)
      if (!parsed.success) {
        stats.badViews++
        log.debug('bad view subscription', { socket: socket.id, issues: parsed.error.issues.slice(0, 3) })
        reply({ ok: false, error: z.prettifyError(parsed.error) })
        return
      }
      reply({ ok: true, devices: subscribe(parsed.data) })
    })
  })

  /*
   * Flushes come at most every `flushMs`, and only when there is something to send: a change after a quiet spell goes
   * out on the next turn, later ones wait out the rest of the interval together. A fixed tick made every reading wait
   * 0–flushMs for it, a third of publish → map time at 1,000 readings/s (platform/bench/latency.ts), and woke the API
   * 100 times a second with nothing to do. A socket still catching up (its link was slow) is looked at every
   * interval until it has had its catch-up, as the tick did.
   */
  let lastFlushAt = Number.NEGATIVE_INFINITY
  /** Cancels the flush that is scheduled, if one is. */
  let cancelDue: (() => void) | undefined
  const runFlush = () => {
    cancelDue = undefined
    lastFlushAt = performance.now()
    if (flush()) schedule()
  }
  function schedule(): void {
    if (cancelDue) return
    const wait = lastFlushAt + flushMs - performance.now()
    if (wait > 0) {
      const timer = setTimeout(runFlush, wait).unref()
      cancelDue = () => clearTimeout(timer)
    } else {
      const immediate = setImmediate(runFlush).unref()
      cancelDue = () => clearImmediate(immediate)
    }
  }

  /** Sends what changed; true when a socket still waits for its catch-up. */
  const flush = (): boolean => {
    let catchingUp = false
    if (removed.size > 0) {
      // Before this batch's updates, so a device disabled and enabled again within one batch ends up on the map.
      // City-wide, like incidents: a browser may list it (search, the feed, an open popup) outside its view. `local`:
      // every API node follows the registry itself and tells its own browsers (live-cluster.ts).
      const gone = [...removed].filter((id) => !deps.state.get(id))
      removed = new Set()
      if (gone.length > 0) {
        io.local.emit('removed', gone)
        stats.removedSent += gone.length
      }
    }
    const ids = changed
    if (ids.size > 0) changed = new Set()
    const timed = fresh
    if (timed.size > 0) fresh = new Map()
    // The timed devices that went out to some socket in this flush.
    const reached = deps.onPushLatency && timed.size > 0 ? new Set<string>() : undefined
    const states: LiveDeviceState[] = []
    for (const id of ids) {
      const st = deps.state.get(id)
      if (st) states.push(st)
    }
    const groups = new Map<string, { view: View; sockets: string[] }>()
    for (const socket of io.of('/').sockets.values() as Iterable<LiveSocket>) {
      const v = socket.data.view
      if (!v) continue
      if (backlogOf(socket) > maxBacklog) {
        const pending = (socket.data.pending ??= new Set())
        for (const d of states) if (inView(v, d)) pending.add(d.deviceId)
        stats.skippedBacklogged++
        catchingUp = true
        continue
      }
      if (socket.data.pending) {
        // Drained: what it missed plus this batch, each device once, in its current state.
        const pending = socket.data.pending
        socket.data.pending = undefined
        for (const d of states) if (inView(v, d)) pending.add(d.deviceId)
        const catchUp = [...pending].flatMap((id) => deps.state.get(id) ?? [])
        if (catchUp.length > 0) socket.emit('updates', catchUp)
        if (reached) for (const d of catchUp) reached.add(d.deviceId)
        stats.updatesSent += catchUp.length
        continue
      }
      if (states.length === 0) continue
      const g = groups.get(v.key)
      if (g) g.sockets.push(socket.id)
      else groups.set(v.key, { view: v, sockets: [socket.id] })
    }
    if (states.length > 0) stats.batches++
    for (const { view, sockets } of groups.values()) {
      const mine = states.filter((d) => inView(view, d))
      if (mine.length === 0) continue
      // Every socket is in a room named by its id: one encode for the whole group. `local`: every API node
      // has the whole stream itself, so none of this crosses a cluster's Redis (live-cluster.ts).
      io.local.to(sockets).emit('updates', mine)
      stats.updatesSent += mine.length * sockets.length
      if (reached) for (const d of mine) reached.add(d.deviceId)
    }
    if (reached && reached.size > 0) {
      // Wall clock against the ingest's wall clock: a negative difference is clock skew between hosts, shown as 0.
      const now = Date.now()
      for (const [id, receivedAt] of timed) if (reached.has(id)) deps.onPushLatency!(Math.max(0, now - receivedAt) / 1000)
    }
    return catchingUp
  }

  return {
    stats,
    io,
    /** The first view's cluster index (its build costs, for the bench and tests). */
    firstView,
    /** Readings from the live feed (not from storage): their way to the browsers is timed (onPushLatency). */
    noteLiveReadings(readings: readonly StoredReading[]): void {
      if (!deps.onPushLatency) return
      for (const r of readings) if (r.receivedAt > (fresh.get(r.deviceId) ?? -Infinity)) fresh.set(r.deviceId, r.receivedAt)
    },
    /** Incidents go to every browser whatever it views: an alarm is never out of sight. */
    announceIncident(change: IncidentChange): void {
      io.local.emit('incident', change)
    },
    /**
     * Runs the handshake check again for every open socket and disconnects those it now refuses (a session
     * ended); resolves with how many. A socket whose check fails (the session store unreachable) stays.
     */
    async recheck(): Promise<number> {
      const sockets = [...(io.of('/').sockets.values() as Iterable<LiveSocket>)]
      const verdicts = await Promise.all(sockets.map((s) => Promise.resolve(deps.admit?.(s.request)).catch(() => undefined)))
      let dropped = 0
      sockets.forEach((socket, i) => {
        if (verdicts[i] === undefined) return
        socket.disconnect(true)
        dropped++
      })
      return dropped
    },
    /**
     * Passes the ingest's health on when what the map shows of it changed (status, storage, spool depth, the
     * oldest wait in whole minutes); the ingest repeats it every few seconds, the browsers need only changes.
     */
    announcePipeline(health: PipelineHealth): void {
      const key = pipelineKey(health)
      if (key === lastPipelineKey) return
      lastPipelineKey = key
      io.local.emit('pipeline', health)
    },
    /** Tells every browser the server's own stream went up or down. */
    announceFeed(status: LiveFeedStatus): void {
      io.local.emit('feed', status)
    },
    stop: once(async () => {
      // Unsubscribed in the same turn as the cancel: nothing is left that could schedule another flush.
      cancelDue?.()
      unsubscribe()
      unsubscribeRemoved()
      clearTimeout(warmTimer)
      firstView.stop()
      io.disconnectSockets(true)
      // Not io.close(): that would also close the HTTP server, which the API owns.
      io.engine.close()
    }),
  }
}
export type LivePush = ReturnType<typeof createLivePush>
