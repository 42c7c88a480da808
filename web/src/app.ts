import type * as L from 'leaflet'
import type { DeviceStatus, FirstViewClusters, LiveDeviceState, PipelineHealth } from './schema.ts'
import type { LinkState as DeepLink } from './deeplink.ts'
import { allFilters, type Filters } from './filters.ts'
import { IncidentStore } from './incidents-store.ts'
import { onLangChange } from './i18n/index.ts'
import type { LinkState, LiveLink } from './live-client.ts'
import type { Session } from './session.ts'
import { DeviceStore } from './store.ts'

/** What the map's parts tell each other. Each part subscribes to what it shows and emits what it changes. */
export interface AppEvents {
  /** The language switched: every part writes its labels again. */
  relabel: []
  /** `app.filters` changed, from the panel's check boxes or from a hash the operator edited (the URL says so already). */
  filters: [from: 'panel' | 'link']
  /** Asks to open a device (a click in a panel, on the map, on the banner); `pan`: centre it. */
  open: [deviceId: string, pan: boolean]
  /** The device whose popup is open, undefined when none. */
  selected: [deviceId: string | undefined]
  /** The live link's state. */
  link: [state: LinkState]
  /** The server's clusters of the handshake's view, before its snapshot; `live`: the server's feed is up. */
  firstView: [clusters: FirstViewClusters, live: boolean]
  /** A batch of live updates, already applied to the store. */
  updates: [devices: LiveDeviceState[]]
  /** Devices that left the registry (an admin disabled them), already dropped from the store; their incidents stay. */
  removed: [deviceIds: string[]]
  /** The ingest's pipeline health, on connect and on change. */
  pipeline: [health: PipelineHealth]
  /** The first live state is on screen: every device of the view under its status, drawn before the snapshot or from it. */
  firstRender: [drawn: { byStatus: Record<DeviceStatus, number>; beforeSnapshot: boolean }]
  /** The registry's names (GET /api/v1/devices) are in the store. */
  names: []
  /** An operator signed in: a new handshake carries the cookie. */
  signedIn: []
  /**
   * `app.replay` changed: replay began or ended, the cursor jumped, play paused or resumed, or (while playing, about once
   * a second) the cursor moved on. Per-frame movement is the replay's own business (replay/replay-control.ts).
   */
  replay: []
}

/** The map shows the past (replay/): the window chosen, the cursor and how it plays. */
export interface ReplayView {
  /** Window bounds and cursor, UTC ms. */
  from: number
  to: number
  at: number
  speed: number
  playing: boolean
}

/** The map's shared state and its events; created once per page by main.ts and handed to every part. */
export interface App {
  readonly map: L.Map
  readonly store: DeviceStore
  readonly incidents: IncidentStore
  /** Incidents as they stood at the replay cursor. `incidents` stays live meanwhile: the alarm cue follows only it. */
  readonly replayIncidents: IncidentStore
  /** Set while the map replays the past (the store then holds the replayed state); undefined when live. */
  replay: ReplayView | undefined
  readonly session: Session
  /** The Socket.IO link boot.ts opened before the map's code loaded. */
  readonly liveLink: LiveLink
  /** The URL hash the page was opened with (position, device, filters). */
  readonly opened: Readonly<DeepLink>
  /** What the operator wants to see: changed in place, then emit('filters'). */
  readonly filters: Filters
  on<E extends keyof AppEvents>(event: E, f: (...args: AppEvents[E]) => void): void
  emit<E extends keyof AppEvents>(event: E, ...args: AppEvents[E]): void
}

export function createApp(o: { map: L.Map; session: Session; liveLink: LiveLink; opened: DeepLink }): App {
  const filters = allFilters()
  if (o.opened.kinds) filters.kinds = new Set(o.opened.kinds)
  if (o.opened.statuses) filters.statuses = new Set(o.opened.statuses)
  if (o.opened.wards) filters.wards = new Set(o.opened.wards)
  type Listener = (...args: unknown[]) => void
  const listeners = new Map<keyof AppEvents, Listener[]>()
  const app: App = {
    map: o.map,
    store: new DeviceStore(),
    incidents: new IncidentStore(),
    replayIncidents: new IncidentStore(),
    replay: undefined,
    session: o.session,
    liveLink: o.liveLink,
    opened: o.opened,
    filters,
    on(event, f) {
      const list = listeners.get(event) ?? []
      list.push(f as Listener)
      listeners.set(event, list)
    },
    // in the order the parts subscribed (main.ts creates them in the order a snapshot must be handled)
    emit(event, ...args) {
      for (const f of listeners.get(event) ?? []) f(...args)
    },
  }
  onLangChange(() => app.emit('relabel'))
  return app
}
