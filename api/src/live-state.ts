import type { DeviceConnectionStatus, DeviceRecord, DeviceRegistry, DeviceView, LiveDeviceState, StoredReading } from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'
import type { DeviceJudge } from '@mytho/alerts'
import { statusOf } from './device-status.ts'

/*
 * The latest state of every registry device, in memory: hydrated from storage at start (and after the feed
 * reconnects), then updated from the live stream. The map and GET /devices are served from here, because asking
 * storage for the last point of thousands of devices is far too slow for a map (InfluxDB last(): 240 ms for 5,000).
 */

interface Entry {
  device: DeviceRecord
  lastReading: StoredReading | null
  lastSeen: number | null
  connection: DeviceConnectionStatus | null
  connectionAt: number
  status: LiveDeviceState['status']
  /** Built on first use after a change, so a quiet city costs nothing per request. */
  live: LiveDeviceState | undefined
  view: DeviceView | undefined
}

export interface LiveStateDeps {
  registry: DeviceRegistry
  store: ReadingStore
  /** UTC ms; default Date.now. */
  clock?: () => number
  /** Judges a live device's reading on the alert engine's rule set (createDeviceJudge); default the built-in rules. */
  judge?: DeviceJudge
}

export function createLiveState(deps: LiveStateDeps) {
  const clock = deps.clock ?? Date.now
  const entries = new Map<string, Entry>()
  for (const device of deps.registry.devices)
    entries.set(device.id, {
      device,
      lastReading: null,
      lastSeen: null,
      connection: null,
      connectionAt: 0,
      status: 'never_seen',
      live: undefined,
      view: undefined,
    })
  const listeners = new Set<(deviceIds: Iterable<string>) => void>()
  const removedListeners = new Set<(deviceIds: string[]) => void>()
  /**
   * Entries of devices that left the registry (disabled), kept so that one enabled again comes back with its last
   * reading and last-seen time rather than as never seen (hydrate moves a device only forward, and it is not re-run).
   * At most every device ever disabled while this runs.
   */
  const left = new Map<string, Entry>()
  // The registry follows the device directory (registry-follow.ts): a new device joins the map before its first
  // reading, a moved one is shown at its new place, a disabled one leaves it at once (listeners of onRemoved tell
  // the browsers, so an operator never sees a device switched off on purpose as "offline"), and one enabled again
  // comes back through onChange like a new one.
  const unfollow = deps.registry.onChange((ids) => {
    const now = clock()
    const changed: string[] = []
    const removed: string[] = []
    for (const id of ids) {
      const device = deps.registry.get(id)
      const e = entries.get(id)
      if (!device) {
        if (!e) continue
        entries.delete(id)
        left.set(id, e)
        removed.push(id)
      } else if (!e) {
        entryOf(id)
        changed.push(id)
      } else if (e.device !== device) {
        e.device = device
        restatus(e, now)
        touch(e)
        changed.push(id)
      }
    }
    version++
    // through onChange too: the cached views (first-view-clusters.ts) must drop the device from their counts
    notify([...changed, ...removed])
    if (removed.length > 0) for (const l of removedListeners) l(removed)
  })
  const stats = { readings: 0, unknownDevice: 0, outOfOrder: 0, hydrations: 0 }
  let hydrated = false
  /** Bumped on every change, so GET /devices can reuse its last body while nothing changed. */
  let version = 0
  let body: { version: number; json: string } | undefined

  const touch = (e: Entry) => {
    e.live = undefined
    e.view = undefined
    version++
  }
  const notify = (ids: string[]) => {
    if (ids.length > 0) for (const l of listeners) l(ids)
  }
  /** Recomputes the status; true when any visible part changed. */
  const restatus = (e: Entry, now: number): boolean => {
    const s = statusOf(e.device, e, now, deps.judge)
    if (s === e.status) return false
    e.status = s
    return true
  }

  /** A device provisioned after start is looked up in the registry on its first reading and joins the map. */
  const entryOf = (id: string): Entry | undefined => {
    const known = entries.get(id)
    if (known) return known
    const device = deps.registry.get(id)
    if (!device) return undefined
    const back = left.get(id)
    left.delete(id)
    // back from a disable: its last reading stays, its connection was dropped then and is learned again
    const e: Entry = back
      ? { ...back, device, connection: null, connectionAt: 0, live: undefined, view: undefined }
      : { device, lastReading: null, lastSeen: null, connection: null, connectionAt: 0, status: 'never_seen', live: undefined, view: undefined }
    if (back) restatus(e, clock())
    entries.set(id, e)
    return e
  }

  const applyReading = (r: StoredReading): Entry | undefined => {
    const e = entryOf(r.deviceId)
    if (!e) {
      stats.unknownDevice++
      return undefined
    }
    // A late (older) reading still proves the device is alive, but the newest one stays the one shown.
    if (e.lastReading && r.ts < e.lastReading.ts) stats.outOfOrder++
    else e.lastReading = r
    if (e.lastSeen === null || r.receivedAt > e.lastSeen) e.lastSeen = r.receivedAt
    return e
  }

  return {
    stats,
    get hydrated() {
      return hydrated
    },
    /** Stops following the registry's changes. */
    close(): void {
      unfollow()
    },
    /**
     * Called with ids that left the registry (disabled, deleted): get() no longer has them. They also reach
     * onChange listeners, which find them gone.
     */
    onRemoved(listener: (deviceIds: string[]) => void): () => void {
      removedListeners.add(listener)
      return () => removedListeners.delete(listener)
    },
    /** Called with the ids whose state changed (readings, connection, status by time, joining or leaving the registry). */
    onChange(listener: (deviceIds: Iterable<string>) => void): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    /** Loads the newest stored reading of every device; only ever moves a device forward. */
    async hydrate(): Promise<void> {
      const latest = await deps.store.latest()
      const now = clock()
      const changed: string[] = []
      for (const r of latest) {
        const e = entries.get(r.deviceId)
        if (!e || (e.lastReading && e.lastReading.ts >= r.ts && (e.lastSeen ?? 0) >= r.receivedAt)) continue
        applyReading(r)
        restatus(e, now)
        touch(e)
        changed.push(r.deviceId)
      }
      stats.hydrations++
      hydrated = true
      notify(changed)
    },
    applyReadings(readings: readonly StoredReading[]): void {
      const now = clock()
      const changed: string[] = []
      for (const r of readings) {
        const e = applyReading(r)
        if (!e) continue
        stats.readings++
        restatus(e, now)
        touch(e)
        changed.push(r.deviceId)
      }
      notify(changed)
    },
    applyConnection(deviceId: string, connection: DeviceConnectionStatus): void {
      const e = entries.get(deviceId)
      if (!e) return
      const now = clock()
      e.connection = connection
      e.connectionAt = now
      restatus(e, now)
      touch(e)
      notify([deviceId])
    },
    /** Turns silent devices offline without new data; run on a timer and before serving a request. */
    refresh(now: number = clock()): void {
      const changed: string[] = []
      for (const [id, e] of entries)
        if (restatus(e, now)) {
          touch(e)
          changed.push(id)
        }
      notify(changed)
    },
    get(deviceId: string): LiveDeviceState | undefined {
      const e = entries.get(deviceId)
      return e && liveOf(e)
    },
    /** Every device, registry order. */
    all(): LiveDeviceState[] {
      return Array.from(entries.values(), liveOf)
    },
    view(deviceId: string): DeviceView | undefined {
      const e = entries.get(deviceId)
      return e && viewOf(e)
    },
    views(): DeviceView[] {
      return Array.from(entries.values(), viewOf)
    },
    /**
     * `JSON.stringify(views())`, reused while nothing changed. Whole, not per device: measured on 5,000 devices,
     * one stringify of the array took ~10 ms, joining 5,000 per-device strings ~35 ms.
     */
    viewsJson(): string {
      if (body?.version !== version) body = { version, json: JSON.stringify(Array.from(entries.values(), viewOf)) }
      return body.json
    },
  }
}
export type LiveState = ReturnType<typeof createLiveState>

function liveOf(e: Entry): LiveDeviceState {
  return (e.live ??= {
    deviceId: e.device.id,
    kind: e.device.kind,
    ward: e.device.ward,
    lat: e.device.lat,
    lon: e.device.lon,
    status: e.status,
    lastSeen: e.lastSeen,
    connection: e.connection,
    lastReading: e.lastReading,
  })
}

function viewOf(e: Entry): DeviceView {
  return (e.view ??= { ...e.device, status: e.status, lastSeen: e.lastSeen, connection: e.connection, lastReading: e.lastReading })
}
