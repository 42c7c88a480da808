import type { DeviceKind, DeviceStatus, LiveDeviceState, StoredReading, Ward } from './schema.ts'

/** Registry facts the live events do not carry (names), from GET /api/v1/devices. */
export interface DeviceMeta {
  id: string
  kind: DeviceKind
  ward: Ward
  nameVi: string
  nameEn: string
  lat: number
  lon: number
}

export type StoreEvent =
  | { type: 'snapshot' }
  /** `changes`: devices that are new, moved or changed status (what the map must redraw), with their previous state. */
  | { type: 'updates'; devices: LiveDeviceState[]; changes: StatusChange[] }
  /** Devices that left the registry (disabled by an admin): no longer in `devices`, listed in `removed`. */
  | { type: 'removed'; deviceIds: string[] }

/** What the live link writes into a store (live-client.ts): while the map replays, a hold keeps it aside (replay/live-hold.ts). */
export type LiveSink = Pick<DeviceStore, 'snapshot' | 'update' | 'remove' | 'fillReadings' | 'setLive'>

export interface StatusChange {
  prev: LiveDeviceState | undefined
  next: LiveDeviceState
}

/**
 * Live state keyed by deviceId. A snapshot replaces everything (it is the whole view, also after a reconnect);
 * updates overwrite single devices. `live` is false until the first snapshot of the current connection, and
 * again once the link drops, so nothing is shown as live that is not.
 */
export class DeviceStore {
  readonly devices = new Map<string, LiveDeviceState>()
  readonly meta = new Map<string, DeviceMeta>()
  /**
   * Devices that left the registry while this page is open. Their names stay in `meta`, for the incidents still
   * held on them; search skips them. One that comes back (an update or a snapshot has it) leaves this set.
   */
  readonly removed = new Set<string>()
  live = false
  readonly #listeners = new Set<(e: StoreEvent) => void>()
  /** Kept up to date on every change: counting 50,000 devices per frame is not free. */
  readonly #counts: Record<DeviceStatus, number> = { ok: 0, warning: 0, alarm: 0, offline: 0, never_seen: 0 }

  on(f: (e: StoreEvent) => void): () => void {
    this.#listeners.add(f)
    return () => this.#listeners.delete(f)
  }
  #emit(e: StoreEvent): void {
    for (const f of this.#listeners) f(e)
  }

  setMeta(list: readonly DeviceMeta[]): void {
    for (const m of list) this.meta.set(m.id, m)
  }

  snapshot(list: readonly LiveDeviceState[], live: boolean): void {
    this.devices.clear()
    for (const k of Object.keys(this.#counts) as DeviceStatus[]) this.#counts[k] = 0
    for (const d of list) {
      const prev = this.devices.get(d.deviceId)
      if (prev) this.#counts[prev.status]--
      this.devices.set(d.deviceId, d)
      this.#counts[d.status]++
      this.removed.delete(d.deviceId)
    }
    this.live = live
    this.#emit({ type: 'snapshot' })
  }

  update(list: LiveDeviceState[]): void {
    const changes: StatusChange[] = []
    for (const d of list) {
      const prev = this.devices.get(d.deviceId)
      if (!prev || prev.status !== d.status || prev.lat !== d.lat || prev.lon !== d.lon) changes.push({ prev, next: d })
      if (prev) this.#counts[prev.status]--
      this.#counts[d.status]++
      this.devices.set(d.deviceId, d)
      this.removed.delete(d.deviceId)
    }
    this.#emit({ type: 'updates', devices: list, changes })
  }

  /** Devices that left the registry: off the map, the counts, the lists and search; told even when none was in view. */
  remove(ids: readonly string[]): void {
    const gone: string[] = []
    for (const id of ids) {
      this.removed.add(id)
      const prev = this.devices.get(id)
      if (prev) this.#counts[prev.status]--
      this.devices.delete(id)
      gone.push(id)
    }
    if (gone.length) this.#emit({ type: 'removed', deviceIds: gone })
  }

  /**
   * The last readings of a snapshot's devices, which a columnar snapshot gives after it is drawn (readings[i] is
   * devices[i]'s). A device updated or replaced since keeps its newer state; values change nothing on the map.
   * Set on the snapshot's own objects (decoded for this store alone): a copy each was 50,000 objects more per
   * snapshot at 50,000 devices.
   */
  fillReadings(devices: readonly LiveDeviceState[], readings: readonly (StoredReading | null)[]): void {
    const filled: LiveDeviceState[] = []
    for (let i = 0; i < devices.length; i++) {
      const d = devices[i]!
      const r = readings[i]
      if (!r || this.devices.get(d.deviceId) !== d) continue
      d.lastReading = r
      filled.push(d)
    }
    if (filled.length) this.#emit({ type: 'updates', devices: filled, changes: [] })
  }

  setLive(live: boolean): void {
    if (this.live === live) return
    this.live = live
    this.#emit({ type: 'snapshot' })
  }

  name(id: string, lang: 'vi' | 'en'): string {
    const m = this.meta.get(id)
    return m ? (lang === 'vi' ? m.nameVi : m.nameEn) : id
  }

  countByStatus(): Record<DeviceStatus, number> {
    return { ...this.#counts }
  }
}
