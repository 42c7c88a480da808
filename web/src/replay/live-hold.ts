import type { LiveDeviceState, StoredReading } from '../schema.ts'
import type { DeviceStore, LiveSink } from '../store.ts'

/**
 * Between the live link and the store. Live, it passes everything through. While the map replays, the store holds the
 * replayed state, so the live link's snapshots and updates go to a copy kept aside instead (the socket stays open and
 * the copy stays current); release() puts the copy back, so going back to live shows the present at once, before the
 * fresh snapshot the caller asks for arrives. Removals always reach the store: a device an admin disabled leaves the map
 * also while replaying.
 */
export function createLiveHold(store: DeviceStore): { sink: LiveSink; hold(): void; release(): void } {
  let held: Map<string, LiveDeviceState> | undefined
  let heldLive = false
  const sink: LiveSink = {
    snapshot(list, live) {
      if (!held) return store.snapshot(list, live)
      held = new Map(list.map((d) => [d.deviceId, d]))
      heldLive = live
    },
    update(list) {
      if (!held) return store.update(list)
      for (const d of list) held.set(d.deviceId, d)
    },
    remove(ids) {
      for (const id of ids) held?.delete(id)
      store.remove(ids)
    },
    fillReadings(devices: readonly LiveDeviceState[], readings: readonly (StoredReading | null)[]) {
      if (!held) return store.fillReadings(devices, readings)
      for (let i = 0; i < devices.length; i++) {
        const d = devices[i]!
        const r = readings[i]
        if (r && held.get(d.deviceId) === d) d.lastReading = r
      }
    },
    setLive(live) {
      if (!held) return store.setLive(live)
      heldLive = live
    },
  }
  return {
    sink,
    hold() {
      if (held) return
      held = new Map(store.devices)
      heldLive = store.live
    },
    release() {
      const h = held
      if (!h) return
      held = undefined
      store.snapshot([...h.values()], heldLive)
    },
  }
}
