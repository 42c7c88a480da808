import { io, type Socket } from 'socket.io-client'
import type { ClientToServerEvents, LiveDeviceState, PipelineHealth, ServerToClientEvents, ViewSubscription } from './schema.ts'
import type { DeviceStore } from './store.ts'
import type { IncidentStore } from './incidents-store.ts'

/** `feed_down`: our link is up but the server has lost its own live stream (its broker link). */
export type LinkState = 'connecting' | 'live' | 'down' | 'feed_down'

export interface LiveClientOptions {
  store: DeviceStore
  /** The current view; asked on every (re)connect and whenever sendView() is called. */
  view: () => ViewSubscription
  onLink: (s: LinkState) => void
  onUpdates?: (devices: LiveDeviceState[]) => void
  /** Fed with the active incidents on each connect and every incident change (city-wide, not view-filtered). */
  incidents?: IncidentStore
  /** An already opened socket (openSocket), so the handshake overlaps the map's setup. */
  socket?: LiveSocket
  /** The API refused the handshake for want of a session (connect_error `sign-in required`); it is not retried. */
  onSignInRequired?: () => void
  /** The ingest's pipeline health, on connect and on change. */
  onPipeline?: (health: PipelineHealth) => void
}

/** The API's connect_error message for a handshake without a session (api/src/api.ts admit). */
export const SIGN_IN_REQUIRED = 'sign-in required'

export type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>

/** Opens the Socket.IO link to the page's origin (the API serves the map). Handlers may be attached later in the same task. */
export const openSocket = (url = ''): LiveSocket => {
  const s: LiveSocket = io(url, {
    path: '/socket.io',
    transports: ['websocket', 'polling'],
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  })
  s.io.engine?.on('open', () => performance.mark('mytho:engine-open'))
  return s
}

/**
 * The Socket.IO link to the API, typed with the shared events. On every connect the view is sent and the
 * server answers with a snapshot, so a reconnect restores the current state without a reload. While the link
 * is down the store is marked not live (the map dims it and shows the banner).
 */
export function createLiveClient(o: LiveClientOptions) {
  const socket = o.socket ?? openSocket()
  let viewTimer: ReturnType<typeof setTimeout> | undefined
  o.onLink('connecting')

  const sendView = () => {
    clearTimeout(viewTimer)
    viewTimer = undefined
    if (socket.connected) socket.emit('view', o.view())
  }

  socket.on('connect', () => {
    performance.mark('mytho:connect')
    sendView()
  })
  let feedUp = true
  socket.on('feed', (status) => {
    feedUp = status.connected
    if (!socket.connected) return
    o.store.setLive(feedUp && snapshotSeen)
    o.onLink(feedUp ? (snapshotSeen ? 'live' : 'connecting') : 'feed_down')
  })
  let snapshotSeen = false
  socket.on('snapshot', (devices) => {
    performance.mark('mytho:snapshot')
    snapshotSeen = true
    o.store.snapshot(devices, feedUp)
    o.onLink(feedUp ? 'live' : 'feed_down')
  })
  socket.on('updates', (devices) => {
    if (!snapshotSeen) return // between a reconnect and its snapshot; the snapshot will carry these
    o.store.update(devices)
    o.onUpdates?.(devices)
  })
  socket.on('incidents', (list) => o.incidents?.replaceAll(list))
  socket.on('incident', (change) => o.incidents?.apply(change))
  socket.on('pipeline', (health) => o.onPipeline?.(health))
  let retry: ReturnType<typeof setTimeout> | undefined
  socket.on('disconnect', (reason) => {
    // a server that shuts down disconnects its sockets itself, and Socket.IO does not retry those: we do
    if (reason === 'io server disconnect') retry = setTimeout(() => socket.connect(), 1000)
    snapshotSeen = false
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
