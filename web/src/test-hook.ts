/*
 * What the browser tests (web/test), the bench (platform/bench/map-fps.ts) and the screenshot script read from the page: the
 * canvas has no DOM per marker. Only in builds made with `--mode test` (web/test/harness.ts buildWeb; vite.config.ts
 * defines __MYTHO_TEST_HOOKS__), so a production build leaves this module out (web/test/production-build.test.ts).
 */
import type { DeviceStatus } from './schema.ts'
import type { App } from './app.ts'
import type { ClusterLayer } from './cluster-layer.ts'
import type { LinkState } from './live-client.ts'

declare global {
  interface Window {
    __mytho?: unknown
  }
}

/** Lag samples kept, newest last. */
const MAX_LAG_SAMPLES = 20_000

export function installTestHook(
  app: App,
  parts: { select(id: string, pan?: boolean): boolean; layer: { readonly stats: ClusterLayer['stats'] }; connection: { readonly state: LinkState } },
): void {
  const { store, incidents } = app
  let firstRenderMs: number | undefined
  /** What the first render drew (every device in view under its status, and from which index). */
  let firstRender:
    | {
        fromServer: boolean
        beforeSnapshot: boolean
        drawnByStatus: number[]
        drawnClusters: number
        drawnPoints: number
        byStatus: Record<DeviceStatus, number>
      }
    | undefined
  app.on('firstRender', ({ byStatus, beforeSnapshot }) => {
    firstRenderMs = performance.now()
    const { drawnFromServer: fromServer, drawnByStatus, drawnClusters, drawnPoints } = parts.layer.stats
    firstRender = { fromServer, beforeSnapshot, drawnByStatus, drawnClusters, drawnPoints, byStatus }
  })

  /** Update lag samples: ms from the batch's newest lastSeen (the server's stamp) to the frame after it was applied. */
  const lagSamples: number[] = []
  let pendingLagStamps: number[] = []
  let lagFrame = 0
  const recordLag = () => {
    lagFrame = 0
    const now = Date.now()
    for (const s of pendingLagStamps) lagSamples.push(now - s)
    if (lagSamples.length > MAX_LAG_SAMPLES) lagSamples.splice(0, lagSamples.length - MAX_LAG_SAMPLES)
    pendingLagStamps = []
  }
  app.on('updates', (devices) => {
    let newest = 0
    for (const d of devices) if (d.lastSeen != null && d.lastSeen > newest) newest = d.lastSeen
    if (!newest) return
    pendingLagStamps.push(newest)
    // after the cluster layer's frame callback, which was scheduled while the store applied the batch
    lagFrame ||= requestAnimationFrame(recordLag)
  })

  /** Batches of live updates the link received (also those a replay holds aside). */
  let liveBatches = 0
  app.liveLink.socket.on('updates', () => void liveBatches++)

  window.__mytho = {
    liveBatches: () => liveBatches,
    map: app.map,
    store,
    incidents,
    select: parts.select,
    stats: () => ({
      devices: store.devices.size,
      live: store.live,
      link: parts.connection.state,
      byStatus: store.countByStatus(),
      ...parts.layer.stats,
      firstRenderMs,
      firstRender,
      incidents: incidents.active.size,
    }),
    lagSamples,
    resetLag: () => (lagSamples.length = 0),
  }
}
