import * as L from 'leaflet'
import { CITY_BOUNDS, deviceStatuses, type FirstViewClusters, type LiveDeviceState, type ViewSubscription } from './schema.ts'
import { ClusterLayer } from './cluster-layer.ts'
import { loadConfig, localConfig, type MapConfig } from './config.ts'
import { formatHash, parseHash } from './deeplink.ts'
import { createFeed } from './feed.ts'
import { accepts, acceptsAll, allFilters, renderFilters } from './filters.ts'
import { formatLocalTime } from './format.ts'
import { applyStatic, getLang, onLangChange, setLang, t, tx } from './i18n/index.ts'
import { LINK_ZOOM, MAP_MAX_ZOOM, MAP_MIN_ZOOM } from './early-view.ts'
import { createLiveClient, type LinkState } from './live-client.ts'
import { link as liveLink, session } from './boot.ts'
import { addOutline } from './outline.ts'
import { createPopupContent, type PopupContent } from './popup.ts'
import { createPipelineBanner } from './pipeline-banner.ts'
import { createSearch } from './search.ts'
import { createSignIn } from './sign-in.ts'
import { createIncidentCue } from './incidents-cue.ts'
import { createIncidentPanel } from './incidents-panel.ts'
import { deviceOf, IncidentStore } from './incidents-store.ts'
import { statusColors } from './status.ts'
import { DeviceStore, type DeviceMeta } from './store.ts'

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T

performance.mark('mytho:main')
document.documentElement.lang = getLang()
applyStatic()

const store = new DeviceStore()
const filters = allFilters()
const link = parseHash(location.hash)
if (link.kinds) filters.kinds = new Set(link.kinds)
if (link.statuses) filters.statuses = new Set(link.statuses)
if (link.wards) filters.wards = new Set(link.wards)

// ---- map, tiles, outline --------------------------------------------------------------------------
const map = L.map($('map'), { zoomControl: true, minZoom: MAP_MIN_ZOOM, maxZoom: MAP_MAX_ZOOM, worldCopyJump: false })
const cityBounds = L.latLngBounds([CITY_BOUNDS.south, CITY_BOUNDS.west], [CITY_BOUNDS.north, CITY_BOUNDS.east])
if (link.lat !== undefined && link.lon !== undefined) map.setView([link.lat, link.lon], link.zoom ?? LINK_ZOOM)
else map.fitBounds(cityBounds)
map.attributionControl.setPrefix(false)

const addTiles = (c: MapConfig) =>
  // a tile server that cannot be reached only leaves the background: devices and the outline are ours
  L.tileLayer(c.tileUrl, { attribution: c.tileAttribution, maxZoom: 19, crossOrigin: false }).addTo(map)
const local = localConfig()
if (local) addTiles(local)
// /config needs a role: asked once the API has said who we are (before sign-in it would only be refused)
let tilesAsked = false
session.onChange((me) => {
  if (local || tilesAsked || me.role === null) return
  tilesAsked = true
  void loadConfig().then(addTiles)
})
const outline = addOutline(map)

// ---- selection and popup --------------------------------------------------------------------------
let selected: string | undefined
let popup: PopupContent | undefined
const leafletPopup = L.popup({ maxWidth: 340, minWidth: 260, autoPanPadding: [20, 60], className: 'mytho-popup' })
leafletPopup.on('remove', () => {
  popup?.destroy()
  popup = undefined
  if (selected !== undefined) {
    selected = undefined
    cluster.selected = undefined
    cluster.scheduleDraw()
    writeHash()
  }
})

function positionOf(id: string): L.LatLngExpression | undefined {
  const d = store.devices.get(id) ?? store.meta.get(id)
  return d ? [d.lat, d.lon] : undefined
}

/** Opens a device: centres it, draws it on top, shows the popup with its values and 24 h chart. */
function select(id: string, pan = true): boolean {
  const at = positionOf(id)
  if (!at) return false
  selected = id
  cluster.selected = id
  popup?.destroy()
  popup = createPopupContent(store, id, () => leafletPopup.update())
  if (pan) map.setView(at, Math.max(map.getZoom(), 15), { animate: false })
  leafletPopup.setLatLng(at).setContent(popup.root).openOn(map)
  popup.drawChart()
  cluster.scheduleDraw()
  writeHash()
  if (window.matchMedia('(max-width: 720px)').matches) document.body.classList.remove('panel-open')
  return true
}

// ---- clusters -------------------------------------------------------------------------------------
const cluster = new ClusterLayer({
  store,
  accept: (d) => accepts(filters, d),
  onSelect: (id) => select(id, false),
  onHoverCluster: (counts, at) => showClusterTip(counts, at),
})
cluster.addTo(map)

const tip = $('cluster-tip')
function showClusterTip(counts: number[] | undefined, at: L.Point): void {
  if (!counts) {
    tip.hidden = true
    return
  }
  tip.replaceChildren(
    ...deviceStatuses.flatMap((s, i) => {
      const n = counts[i] ?? 0
      if (!n) return []
      const row = document.createElement('div')
      const sw = document.createElement('i')
      sw.className = 'swatch'
      sw.style.background = statusColors[s]
      const label = document.createElement('span')
      label.textContent = `${tx(`status_${s}`)}: ${n}`
      row.append(sw, label)
      return [row]
    }),
  )
  const box = $('map').getBoundingClientRect()
  tip.style.left = `${box.left + at.x + 16}px`
  tip.style.top = `${box.top + at.y + 8}px`
  tip.hidden = false
}

// ---- header: counts, link state, clock ------------------------------------------------------------
const countsEl = $('counts')
function renderCounts(): void {
  const c = store.countByStatus()
  const parts: HTMLElement[] = []
  const total = document.createElement('span')
  total.textContent = `${store.devices.size} ${t('devices')}`
  parts.push(total)
  for (const s of ['alarm', 'warning', 'offline'] as const) {
    if (!c[s]) continue
    const chip = document.createElement('span')
    chip.className = 'count-chip'
    chip.style.background = statusColors[s]
    chip.dataset['status'] = s
    chip.textContent = `${c[s]} ${tx(`status_${s}`).toLowerCase()}`
    parts.push(chip)
  }
  countsEl.replaceChildren(...parts)
}
let countsFrame = 0
const scheduleCounts = () => {
  if (!countsFrame)
    countsFrame = requestAnimationFrame(() => {
      countsFrame = 0
      renderCounts()
    })
}

let linkState: LinkState = 'connecting'
function renderLink(): void {
  const el = $('link')
  el.className = `link ${linkState}`
  el.textContent = linkState === 'live' ? t('live') : linkState === 'down' ? t('disconnected') : linkState === 'feed_down' ? t('feedDown') : t('connecting')
  const banner = $('banner')
  banner.hidden = linkState !== 'down' && linkState !== 'feed_down'
  banner.textContent = banner.hidden ? '' : `${linkState === 'down' ? t('disconnected') : t('feedDown')} ${t('staleNote')}`
  cluster.dimmed = linkState !== 'live'
  document.body.classList.toggle('not-live', linkState !== 'live')
  cluster.scheduleDraw()
  popup?.refresh()
}
const tick = () => ($('clock').textContent = formatLocalTime(Date.now()))
/*
 * The first time format with a time zone loads the zone data (10–35 ms measured in headless Chromium), so the clock
 * starts once the first snapshot is drawn, or after CLOCK_START_MS (ms) without one.
 */
const CLOCK_START_MS = 1000
let clockStarted = false
function startClock(): void {
  if (clockStarted) return
  clockStarted = true
  tick()
  setInterval(tick, 1000)
}
setTimeout(startClock, CLOCK_START_MS)

// ---- panels -----------------------------------------------------------------------------------------
const onFilterChange = () => {
  cluster.rebuild()
  live.viewChanged(0)
  writeHash()
}
const filterPanel = renderFilters($('filters'), filters, onFilterChange)
const feed = createFeed($('feed'), store, (id) => select(id))
const search = createSearch($<HTMLInputElement>('search'), $('search-results'), store, (id) => select(id))
// ---- incidents: panel, new-severe cue, halos on the map ----------------------------------------------
const incidents = new IncidentStore()
const incidentPanel = createIncidentPanel($('incidents'), incidents, store, session, (id) => select(id))
const pipelineBanner = createPipelineBanner($('pipeline-banner'))
const cue = createIncidentCue($('incident-banner'), $<HTMLButtonElement>('sound'), (id) => select(id))
incidents.on((e) => {
  cluster.setAlarmed(incidents.alarmedDevices())
  if (e.type !== 'changed') return
  if (e.fresh) cue.incident(e.incident)
  // the open popup's incident list and chart lines follow the device's incidents
  if (selected !== undefined && deviceOf(e.incident) === selected) popup?.drawChart()
})
$('panel-toggle').addEventListener('click', () => document.body.classList.toggle('panel-open'))
const toggleLang = () => setLang(getLang() === 'vi' ? 'en' : 'vi')
$('lang').addEventListener('click', toggleLang)
$('sign-in-lang').addEventListener('click', toggleLang)
onLangChange(() => {
  signIn.relabel()
  pipelineBanner.relabel()
  filterPanel.relabel()
  outline.relabel()
  feed.relabel()
  search.relabel()
  incidentPanel.relabel()
  cue.relabel()
  popup?.relabel()
  renderCounts()
  renderLink()
  tick()
})

// ---- deep links -------------------------------------------------------------------------------------
let writingHash = false
function writeHash(): void {
  const h = formatHash(map.getCenter(), map.getZoom(), selected, filters)
  if (h === location.hash) return
  writingHash = true
  history.replaceState(null, '', h)
  writingHash = false
}
window.addEventListener('hashchange', () => {
  if (writingHash) return
  const s = parseHash(location.hash)
  const all = allFilters()
  filters.kinds = new Set(s.kinds ?? all.kinds)
  filters.statuses = new Set(s.statuses ?? all.statuses)
  filters.wards = new Set(s.wards ?? all.wards)
  filterPanel.sync()
  if (s.lat !== undefined && s.lon !== undefined) map.setView([s.lat, s.lon], s.zoom ?? map.getZoom())
  cluster.rebuild()
  live.viewChanged(0)
  if (s.selected && s.selected !== selected) select(s.selected, s.lat === undefined)
})

// ---- live link ----------------------------------------------------------------------------------------
/** What the server was last asked for: panning inside it needs no new snapshot. */
let subscribed: L.LatLngBounds | undefined
function currentView(): ViewSubscription {
  // a screen around the view on every side, so panning rarely needs a new snapshot
  const b = map.getBounds().pad(1)
  subscribed = b
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))
  const v: ViewSubscription = {
    bbox: [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90), clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)],
    zoom: clamp(Math.round(map.getZoom()), 0, 22),
  }
  const all = allFilters()
  if (filters.kinds.size < all.kinds.size) v.kinds = [...filters.kinds]
  if (filters.wards.size < all.wards.size) v.wards = [...filters.wards]
  return v
}

/** Update lag samples: ms from the batch's newest lastSeen (the server's stamp) to the frame after it was applied. */
const lagSamples: number[] = []
let pendingLagStamps: number[] = []
let lagFrame = 0
const recordLag = () => {
  lagFrame = 0
  const now = Date.now()
  for (const s of pendingLagStamps) lagSamples.push(now - s)
  if (lagSamples.length > 20_000) lagSamples.splice(0, lagSamples.length - 20_000)
  pendingLagStamps = []
}
let firstRenderMs: number | undefined
/** What the first render drew (tests and the bench: every device in view under its status, and from which index). */
let firstRender: { fromServer: boolean; beforeSnapshot: boolean; drawnByStatus: number[]; drawnClusters: number; drawnPoints: number; byStatus: Record<string, number> } | undefined
let fitted = false

/** The first render is the first live state drawn: the server's first-view clusters, or a snapshot. */
function markFirstRender(byStatus: Record<string, number>, beforeSnapshot: boolean): void {
  firstRenderMs = performance.now()
  performance.mark('mytho:first-render')
  const { drawnFromServer: fromServer, drawnByStatus, drawnClusters, drawnPoints } = cluster.stats
  firstRender = { fromServer, beforeSnapshot, drawnByStatus, drawnClusters, drawnPoints, byStatus }
  setTimeout(loadMeta, 0)
  setTimeout(startClock, 0)
}

/**
 * The server's clusters of the handshake's view, before its snapshot: drawn now when they fit (every device, so not
 * for a filtered map; showFirst refuses another zoom or box). The snapshot that follows builds the index.
 */
function showFirstView(fv: FirstViewClusters, live: boolean): void {
  if (!acceptsAll(filters) || !cluster.showFirst(fv)) return
  if (!live || firstRenderMs !== undefined) return
  // every device of the server's view under its status, as the rows count them
  const byStatus = Object.fromEntries(deviceStatuses.map((st, k) => [st, fv.id.reduce((n, _, r) => n + fv.counts[5 * r + k]!, 0)]))
  markFirstRender(byStatus, true)
}

const live = createLiveClient({
  link: liveLink,
  store,
  incidents,
  view: currentView,
  onLink: (s) => {
    linkState = s
    renderLink()
  },
  onSignInRequired: () => void session.check(),
  onPipeline: (h) => pipelineBanner.update(h),
  onFirstView: showFirstView,
  onUpdates: (devices: LiveDeviceState[]) => {
    let newest = 0
    for (const d of devices) if (d.lastSeen != null && d.lastSeen > newest) newest = d.lastSeen
    if (newest) {
      pendingLagStamps.push(newest)
      // after the cluster layer's frame callback, which was scheduled while the store applied the batch
      lagFrame ||= requestAnimationFrame(recordLag)
    }
    feed.push(devices)
  },
})
store.on((e) => {
  if (e.type === 'snapshot') {
    if (!fitted && link.lat === undefined && store.devices.size > 0) {
      // first data and no position in the link: frame the fleet rather than the whole city box
      fitted = true
      const b = L.latLngBounds([...store.devices.values()].map((d) => [d.lat, d.lon] as [number, number]))
      map.fitBounds(b, { padding: [30, 30], maxZoom: 15, animate: false })
    }
    // the server's first-view clusters on screen (showFirstView): the index from this snapshot after the next paint
    if (cluster.showingFirst) cluster.swapAfterPaint()
    else cluster.rebuild()
    // navigation start → first live snapshot drawn (rebuild draws synchronously)
    if (store.live && firstRenderMs === undefined) markFirstRender(store.countByStatus(), false)
    selectFromLink()
    popup?.refresh()
  } else {
    // values alone change nothing on the map; statuses change sprites and cluster colours
    if (e.changes.length) cluster.changed(e.changes)
    if (selected !== undefined && e.devices.some((d) => d.deviceId === selected)) popup?.refresh()
  }
  scheduleCounts()
})
map.on('moveend', () => {
  if (!subscribed?.contains(map.getBounds())) live.viewChanged()
  writeHash()
  tip.hidden = true
})
// The entry's handshake carried an estimate of this view (early-view.ts): if it does not cover the map, ask now.
const early = liveLink.handshakeView
if (early) {
  subscribed = L.latLngBounds([early.bbox[1], early.bbox[0]], [early.bbox[3], early.bbox[2]])
  if (!subscribed.contains(map.getBounds())) live.viewChanged(0)
}

/*
 * Registry names (the live events carry none), asked for once the first live snapshot is drawn, so that parsing
 * the whole registry (12 MB at 50,000 devices) does not delay it. If no live snapshot comes within
 * META_FALLBACK_MS, the REST state is drawn meanwhile, dimmed and marked not live.
 */
const META_FALLBACK_MS = 1500
let metaRequested = false
function loadMeta(): void {
  // not before the API has said we may read (a signed-out page holds no device data)
  if (metaRequested || !session.me?.role) return
  metaRequested = true
  void fetch('/api/v1/devices')
    .then((r) => {
      if (r.status === 401) {
        // the session ended meanwhile: asked again after the next sign-in's first snapshot
        metaRequested = false
        void session.check()
      }
      return r.ok ? (r.json() as Promise<(DeviceMeta & Omit<LiveDeviceState, 'deviceId' | 'connection'>)[]>) : []
    })
    .then((list) => {
      store.setMeta(list)
      if (!store.live && store.devices.size === 0)
        store.snapshot(
          list.map((d) => ({ deviceId: d.id, kind: d.kind, ward: d.ward, lat: d.lat, lon: d.lon, status: d.status, lastSeen: d.lastSeen, connection: null, lastReading: d.lastReading })),
          false,
        )
      else popup?.refresh()
      selectFromLink()
      feed.relabel()
      incidentPanel.refresh()
    })
    .catch(() => undefined)
}
setTimeout(loadMeta, META_FALLBACK_MS)
// the first snapshot (sent with the handshake) can be drawn before the API has said who we are
session.onChange((me) => {
  if (me.role !== null && firstRenderMs !== undefined) loadMeta()
})

// ---- sign-in (issue #6) ------------------------------------------------------------------------------
/*
 * role null: the sign-in page covers the map and the live link is dropped; the URL hash keeps the view, so
 * signing in again (after a session ran out) returns to it. Signing in opens a new handshake with the cookie.
 * Without sign-in (AUTH_DISABLED) /auth/me answers a role and nothing here shows.
 */
const signIn = createSignIn(session, () => {
  live.reconnect()
  if (store.live || firstRenderMs !== undefined) setTimeout(loadMeta, 0)
})
session.onChange((me, why) => {
  if (me.role !== null) return
  live.pause()
  if (!signIn.shown) signIn.show(why === 'expired')
})
$('sign-out').addEventListener('click', () => {
  // a reload empties every store (the screen may be shared); the hash keeps the view for the next operator
  void session.logout().then(() => location.reload())
})
function selectFromLink(): void {
  if (link.selected && selected === undefined && positionOf(link.selected)) {
    select(link.selected, link.lat === undefined)
    delete link.selected
  }
}

// ---- test and benchmark hook (canvas has no DOM per marker) ---------------------------------------------
declare global {
  interface Window {
    __mytho?: unknown
  }
}
window.__mytho = {
  map,
  store,
  incidents,
  select,
  stats: () => ({
    devices: store.devices.size,
    live: store.live,
    link: linkState,
    byStatus: store.countByStatus(),
    ...cluster.stats,
    firstRenderMs,
    firstRender,
    incidents: incidents.active.size,
  }),
  lagSamples,
  resetLag: () => (lagSamples.length = 0),
}
renderCounts()
// load milestones for web/bench/map-fps.ts (user timing marks cost nothing noticeable)
performance.mark('mytho:main-end')
// every listener is attached: the sign-in answer and what the link received before (the entry started both) apply now
session.announce()
live.start()
setTimeout(() => performance.mark('mytho:idle'), 0)
