import { io, type Socket } from 'socket.io-client'
import {
  decodeReadings,
  decodeSnapshot,
  type ClientToServerEvents,
  type FirstViewClusters,
  type LiveDeviceState,
  type PipelineHealth,
  type ServerToClientEvents,
  type ViewSubscription,
} from './schema.ts'
import type { LiveSink } from './store.ts'
import type { IncidentStore } from './incidents-store.ts'

/** `feed_down`: our link is up but the server has lost its own live stream (its broker link). */
export type LinkState = 'connecting' | 'live' | 'down' | 'feed_down'

export interface LiveClientOptions {
  store: LiveSink
  /** The current view; sent with every (re)connect's handshake and whenever viewChanged() is called. */
  view: () => ViewSubscription
  onLink: (s: LinkState) => void
  onUpdates?: (devices: LiveDeviceState[]) => void
  /** Devices that left the registry (the `removed` event), already dropped from the store. */
  onRemoved?: (deviceIds: string[]) => void
  /** Fed with the active incidents on each connect and every incident change (city-wide, not view-filtered). */
  incidents?: IncidentStore
  /** A link opened before the map's code ran (boot.ts, openLink), so the handshake overlaps the map's setup. */
  link?: LiveLink | undefined
  /** The API refused the handshake for want of a session (connect_error `sign-in required`); it is not retried. */
  onSignInRequired?: () => void
  /** The ingest's pipeline health, on connect and on change. */
  onPipeline?: (health: PipelineHealth) => void
  /**
   * The server's clusters of the handshake's view (the `firstView` event), before that view's snapshot. `live`: the
   * server's feed is up, so they show the live state (the snapshot, read in the same tick on the server, follows).
   */
  onFirstView?: (clusters: FirstViewClusters, live: boolean) => void
}

/** The API's connect_error message for a handshake without a session (api/src/api.ts admit). */
export const SIGN_IN_REQUIRED = 'sign-in required'

export type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>
type QueuedEvent = [event: string, args: unknown[]]
type Listener = (...args: unknown[]) => void

/** A Socket.IO link to the page's origin (the API serves the map), opened before anyone listens to it. */
export interface LiveLink {
  readonly socket: LiveSocket
  /** The view each handshake carries (HandshakeAuth), asked when the handshake is sent; the live client points it at the map. */
  viewForHandshake: () => ViewSubscription | undefined
  /** The view the last handshake carried: the server answers the connection with its snapshot. */
  readonly handshakeView: ViewSubscription | undefined
  /** Resolves once the first handshake is sent, or after maxMs (ms) if the server is slow or unreachable. */
  sent(maxMs: number): Promise<void>
  /** What came before the live client listened, oldest first; the link stops keeping events. */
  drain(): QueuedEvent[]
  /** The link's own listeners (load milestones), which a replay of drained events skips. */
  readonly own: ReadonlySet<unknown>
}

/**
 * Opens the link at once; events are kept until drain(). Websocket first, so no long-polling round trips come before
 * the first snapshot; polling only when the websocket fails while opening (tryAllTransports: a proxy that refuses
 * the upgrade), else Socket.IO would retry the websocket forever.
 */
export function openLink(view?: ViewSubscription, url = ''): LiveLink {
  let handshakeView: ViewSubscription | undefined
  let handshakeSent = () => {}
  const firstHandshake = new Promise<void>((resolve) => (handshakeSent = resolve))
  const socket: LiveSocket = io(url, {
    path: '/socket.io',
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
    auth: (cb) => {
      handshakeView = link.viewForHandshake()
      // snapshots in columns: no 2 MB of JSON to read and parse before the first draw at 10,000 devices (live-snapshot.ts);
      // with the view's clusters, so the first draw does not wait for the index either (first-view.ts)
      cb(handshakeView ? { view: handshakeView, snapshot: 'columns', clusters: true } : { snapshot: 'columns' })
      handshakeSent()
    },
  })
  // load milestones for platform/bench/map-fps.ts, when they happen (not when the map's code gets to them)
  socket.io.engine?.on('open', () => performance.mark('mytho:engine-open'))
  const markConnect = () => void performance.mark('mytho:connect')
  const markSnapshot = () => void performance.mark('mytho:snapshot')
  socket.on('connect', markConnect)
  socket.on('snapshot', markSnapshot)
  socket.on('snapshotColumns', markSnapshot)
  const markFirstView = () => void performance.mark('mytho:first-view')
  socket.on('firstView', markFirstView)
  const link: LiveLink = {
    socket,
    viewForHandshake: () => view,
    get handshakeView() {
      return handshakeView
    },
    sent: (maxMs) => Promise.race([firstHandshake, new Promise<void>((resolve) => setTimeout(resolve, maxMs))]),
    drain,
    own: new Set([markConnect, markSnapshot, markFirstView]),
  }
  const queued: QueuedEvent[] = []
  const keepAny = (event: string, ...args: unknown[]) => void queued.push([event, args])
  const keepReserved = (['connect', 'connect_error', 'disconnect'] as const).map((event) => {
    const keep = (...args: unknown[]) => void queued.push([event, args])
    socket.on(event, keep)
    return [event, keep] as const
  })
  socket.onAny(keepAny)
  function drain(): QueuedEvent[] {
    socket.offAny(keepAny)
    for (const [event, keep] of keepReserved) socket.off(event, keep)
    return queued.splice(0)
  }
  return link
}

/** Runs f after the next frame is painted, or after 100 ms when no frame comes (a hidden tab). */
function afterPaint(f: () => void): void {
  const fallback = setTimeout(f, 100)
  requestAnimationFrame(() => {
    clearTimeout(fallback)
    setTimeout(f, 0)
  })
}

/**
 * The Socket.IO link to the API, typed with the shared events. Every (re)connect's handshake carries the view and
 * the server answers with a snapshot, so a reconnect restores the current state without a reload. While the link
 * is down the store is marked not live (the map dims it and shows the banner). Call start() once every listener of
 * the stores is attached: it handles what the link received before (often the first snapshot).
 */
export function createLiveClient(o: LiveClientOptions) {
  const link = o.link ?? openLink()
  const socket = link.socket
  let viewTimer: ReturnType<typeof setTimeout> | undefined
  /** The view changed while the link was down, after its handshake was sent (the entry's estimate). */
  let viewStale = false
  link.viewForHandshake = () => {
    viewStale = false
    return o.view()
  }
  o.onLink('connecting')

  const sendView = () => {
    clearTimeout(viewTimer)
    viewTimer = undefined
    if (socket.connected) socket.emit('view', o.view())
    else viewStale = true
  }

  socket.on('connect', () => {
    // the handshake carried the view: the snapshot is already coming
    if (link.handshakeView === undefined || viewStale) sendView()
    viewStale = false
  })
  let feedUp = true
  socket.on('feed', (status) => {
    feedUp = status.connected
    if (!socket.connected) return
    o.store.setLive(feedUp && snapshotSeen)
    o.onLink(feedUp ? (snapshotSeen || firstViewSeen ? 'live' : 'connecting') : 'feed_down')
  })
  let snapshotSeen = false
  /** The server's first-view clusters came (and are drawn) before the snapshot. */
  let firstViewSeen = false
  const snapshot = (devices: LiveDeviceState[]) => {
    snapshotSeen = true
    o.store.snapshot(devices, feedUp)
    o.onLink(feedUp ? 'live' : 'feed_down')
  }
  socket.on('snapshot', snapshot)
  socket.on('firstView', (clusters) => {
    if (!socket.connected) return
    // the live state, drawn before the snapshot arrives (a few kB against ~0.45 MB): the link is live from here; updates
    // still wait for the snapshot, which carries the state they change
    if (feedUp) {
      firstViewSeen = true
      o.onLink('live')
    }
    o.onFirstView?.(clusters, feedUp)
  })
  socket.on('snapshotColumns', (columns) => {
    const devices = decodeSnapshot(columns)
    snapshot(devices)
    // the last readings (the popup's and the feed's values) once the snapshot is on screen
    afterPaint(() => o.store.fillReadings(devices, decodeReadings(columns)))
  })
  socket.on('updates', (devices) => {
    if (!snapshotSeen) return // between a reconnect and its snapshot; the snapshot will carry these
    o.store.update(devices)
    o.onUpdates?.(devices)
  })
  // also before a reconnect's snapshot: the snapshot would not carry a device that left outside the view
  socket.on('removed', (ids) => {
    o.store.remove(ids)
    o.onRemoved?.(ids)
  })
  socket.on('incidents', (list) => o.incidents?.replaceAll(list))
  socket.on('incident', (change) => o.incidents?.apply(change))
  socket.on('pipeline', (health) => o.onPipeline?.(health))
  let retry: ReturnType<typeof setTimeout> | undefined
  socket.on('disconnect', (reason) => {
    // a server that shuts down disconnects its sockets itself, and Socket.IO does not retry those: we do
    if (reason === 'io server disconnect') retry = setTimeout(() => socket.connect(), 1000)
    snapshotSeen = false
    firstViewSeen = false
    o.store.setLive(false)
    o.onLink('down')
  })
  socket.on('connect_error', (err) => {
    o.store.setLive(false)
    o.onLink('down')
    if (err.message === SIGN_IN_REQUIRED) o.onSignInRequired?.()
  })

  return {
    socket,
    /** Handles, in order, the events the link received before this client listened. */
    start(): void {
      for (const [event, args] of link.drain())
        for (const f of (socket as unknown as { listeners(e: string): Listener[] }).listeners(event)) if (!link.own.has(f)) f(...args)
    },
    /** Sends the view soon; panning fires many moveends, the server needs only the last. */
    viewChanged(delayMs = 150): void {
      clearTimeout(viewTimer)
      viewTimer = setTimeout(sendView, delayMs)
    },
    /** A new handshake (it carries the cookies the browser holds now), e.g. after signing in. */
    reconnect(): void {
      clearTimeout(retry)
      // the engine's first request carried the old cookies: closing the last socket closes it, connect opens a new one
      socket.disconnect()
      socket.connect()
    },
    /** Drops the link without retrying (the session ended). */
    pause(): void {
      clearTimeout(retry)
      socket.disconnect()
    },
    close(): void {
      clearTimeout(viewTimer)
      clearTimeout(retry)
      socket.close()
    },
  }
}
export type LiveClient = ReturnType<typeof createLiveClient>
