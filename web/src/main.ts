/*
 * The map's code, loaded by the entry (boot.ts) once the live link's handshake has left. It builds the app core
 * (app.ts: shared state and events) and the parts, each of which subscribes to what it shows and emits what it
 * changes. Creation order matters where parts react to the same store event: the devices layer frames and draws a
 * snapshot (and announces the first render) before the selection opens the link's device and the header counts.
 */
import { createApp } from './app.ts'
import { createConnectionStatus } from './connection-status.ts'
import { parseHash } from './deeplink.ts'
import { createDevicesLayer } from './devices-layer.ts'
import { $ } from './dom.ts'
import { createFeed } from './feed.ts'
import { createFilterPanel } from './filter-panel.ts'
import { syncHash } from './hash-sync.ts'
import { createHeader } from './header.ts'
import { applyStatic, getLang } from './i18n/index.ts'
import { createIncidentCue } from './incidents-cue.ts'
import { createIncidentPanel } from './incidents-panel.ts'
import type { LiveLink } from './live-client.ts'
import { createLiveView } from './live-view.ts'
import { addTiles, createMap } from './map-view.ts'
import { addOutline } from './outline.ts'
import { createOverlays } from './overlays.ts'
import { createPipelineBanner } from './pipeline-banner.ts'
import { createReplayControl } from './replay/replay-control.ts'
import { loadRegistryNames } from './registry-names.ts'
import { createSearch } from './search.ts'
import { createSelection } from './selection.ts'
import type { Session } from './session.ts'
import { createSignIn } from './sign-in.ts'
import { installTestHook } from './test-hook.ts'

/** What the entry started before the map's code loaded: the sign-in check and the live link. */
export function startMap(boot: { session: Session; link: LiveLink }): void {
  performance.mark('mytho:main')
  document.documentElement.lang = getLang()
  applyStatic()

  const opened = parseHash(location.hash)
  const app = createApp({ map: createMap($('map'), opened), session: boot.session, liveLink: boot.link, opened })
  addTiles(app)
  addOutline(app)
  createOverlays(app)
  const layer = createDevicesLayer(app)
  const selection = createSelection(app)
  const connection = createConnectionStatus(app)
  createHeader(app)
  createFilterPanel(app)
  createFeed(app)
  createSearch(app)
  createIncidentPanel(app)
  createIncidentCue(app)
  createPipelineBanner(app)
  createReplayControl(app)
  createSignIn(app)
  syncHash(app)
  loadRegistryNames(app)
  const live = createLiveView(app)
  // tests, the bench and the screenshot script only (vite.config.ts): a production build drops it
  if (__MYTHO_TEST_HOOKS__) installTestHook(app, { select: selection.select, layer, connection })

  // load milestones for platform/bench/map-fps.ts (user timing marks cost nothing noticeable)
  performance.mark('mytho:main-end')
  // every listener is attached: the sign-in answer and what the link received before (the entry started both) apply now
  boot.session.announce()
  live.start()
  setTimeout(() => performance.mark('mytho:idle'), 0)
}
