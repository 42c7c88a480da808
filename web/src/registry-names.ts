import type { LiveDeviceState } from './schema.ts'
import type { App } from './app.ts'
import type { DeviceMeta } from './store.ts'

/**
 * If no live snapshot comes within this long (ms), the REST state is drawn meanwhile, dimmed and marked not live.
 */
const META_FALLBACK_MS = 1500

/**
 * Registry names (the live events carry none), asked for once the first live state is drawn, so that parsing the
 * whole registry (12 MB at 50,000 devices) does not delay it; or after META_FALLBACK_MS without one. Not before the
 * API has said we may read (a signed-out page holds no device data); asked again after a sign-in.
 */
export function loadRegistryNames(app: App): void {
  const { store, session } = app
  let rendered = false
  let requested = false
  function load(): void {
    if (requested || !session.me?.role) return
    requested = true
    void fetch('/api/v1/devices')
      .then((r) => {
        if (r.status === 401) {
          // the session ended meanwhile: asked again after the next sign-in's first snapshot
          requested = false
          void session.check()
        }
        return r.ok ? (r.json() as Promise<(DeviceMeta & Omit<LiveDeviceState, 'deviceId' | 'connection'>)[]>) : []
      })
      .then((list) => {
        store.setMeta(list)
        if (!store.live && store.devices.size === 0)
          store.snapshot(
            list.map((d) => ({
              deviceId: d.id,
              kind: d.kind,
              ward: d.ward,
              lat: d.lat,
              lon: d.lon,
              status: d.status,
              lastSeen: d.lastSeen,
              connection: null,
              lastReading: d.lastReading,
            })),
            false,
          )
        app.emit('names')
      })
      .catch(() => undefined)
  }
  app.on('firstRender', () => {
    rendered = true
    setTimeout(load, 0)
  })
  setTimeout(load, META_FALLBACK_MS)
  // the first snapshot (sent with the handshake) can be drawn before the API has said who we are
  session.onChange((me) => {
    if (me.role !== null && rendered) load()
  })
  app.on('signedIn', () => {
    if (store.live || rendered) setTimeout(load, 0)
  })
}
