import * as L from 'leaflet'
import Supercluster from 'supercluster'
import { CLUSTER_OPTIONS, deviceKinds, deviceStatuses, type FirstViewClusters, type LiveDeviceState, type StatusCountProps } from './schema.ts'
import { buildSprites, MARKER_SIZE, sprite, type SpriteSet } from './icons.ts'
import { statusColors, statusIndex, worstStatus } from './status.ts'
import { clusterChains, clustersHolding, type SuperclusterInternals } from './cluster-chains.ts'
import type { DeviceStore, StatusChange } from './store.ts'

interface PointProps {
  id: string
  /** Status index when the index was built, for map (the store is read, not this, once built). */
  s: number
}
interface ClusterProps extends StatusCountProps {
  /** Devices with an alarming (critical, not cleared) incident: the cluster gets a red outline. */
  c5: number
}
const countKeys = ['c0', 'c1', 'c2', 'c3', 'c4'] as const
const ALARM_RED = '#d7191c'

/**
 * A red halo behind a device with an alarming incident: a soft disc and a solid ring, so it stands out from a
 * plain alarm-coloured marker. Static (a pulse would need a redraw every frame, which the 50,000-device budget
 * forbids); the pulse is left to the DOM cue (banner) instead.
 */
function drawHalo(c: CanvasRenderingContext2D, x: number, y: number, r: number): void {
  c.beginPath()
  c.arc(x, y, r + 9, 0, Math.PI * 2)
  c.fillStyle = 'rgba(215, 25, 28, 0.28)'
  c.fill()
  c.lineWidth = 2.5
  c.strokeStyle = ALARM_RED
  c.beginPath()
  c.arc(x, y, r + 5, 0, Math.PI * 2)
  c.stroke()
}

/** A drawn thing, for hit-testing clicks and hovers (canvas has no DOM per marker). */
interface Drawn {
  x: number
  y: number
  r: number
  id?: string
  clusterId?: number
  counts?: number[]
}

export interface ClusterStats {
  indexed: number
  drawnPoints: number
  drawnClusters: number
  clusteredDevices: number
  lastRebuildMs: number
  lastDrawMs: number
  rebuilds: number
  draws: number
  drawMsTotal: number
  /** Devices with an alarm halo (set through setAlarmed). */
  alarmed: number
  /** In the last draw: halos plus red-outlined clusters. */
  drawnAlarms: number
  /** In the last draw: devices per status (deviceStatuses order), markers and cluster counts together. */
  drawnByStatus: number[]
  /** The last draw was of the server's first-view clusters (showFirst), not of this layer's index. */
  drawnFromServer: boolean
}

export interface ClusterLayerOptions {
  store: DeviceStore
  /** Client-side filter; the cluster index holds only devices it accepts. */
  accept: (d: LiveDeviceState) => boolean
  onSelect: (deviceId: string) => void
  onHoverCluster: (counts: number[] | undefined, at: L.Point) => void
}

/** Highest zoom at which devices are clustered; above it every device is its own marker. */
const MAX_ZOOM = CLUSTER_OPTIONS.maxZoom

/**
 * Canvas drawn around the view on each side, as a share of the view, so a short pan shows no blank edge. Small on
 * purpose: with 0.5 (a canvas 4× the screen) Chromium's software compositing fell from 58 to 28 fps at 50,000 devices.
 */
const PADDING = 0.15
/** While dragging, the canvas is re-placed and redrawn at most this often, ms. */
const DRAG_REDRAW_MS = 150

/**
 * Devices as supercluster clusters and kind icons on one canvas in the overlay pane. The canvas moves with the
 * map pane while panning (no redraw per frame) and is redrawn at moveend, after updates (once per animation
 * frame) and after index rebuilds. Rebuilds (status or membership changes) are throttled by their own cost.
 */
export class ClusterLayer extends L.Layer {
  readonly #o: ClusterLayerOptions
  #canvas: HTMLCanvasElement | undefined
  #ctx: CanvasRenderingContext2D | null = null
  #sprites: SpriteSet | undefined
  #index = new Supercluster<PointProps, ClusterProps>({
    // the API clusters the first view with the same options (api/src/first-view-clusters.ts)
    ...CLUSTER_OPTIONS,
    // one object shape and named fields, no keyed loops: these run ~2 × per device per index build, mostly still
    // unoptimised on the first build (the first render's)
    map: (p) => {
      const s = p.s
      return {
        c0: s === 0 ? 1 : 0,
        c1: s === 1 ? 1 : 0,
        c2: s === 2 ? 1 : 0,
        c3: s === 3 ? 1 : 0,
        c4: s === 4 ? 1 : 0,
        c5: this.#alarmed.size > 0 && this.#alarmed.has(p.id) ? 1 : 0,
      }
    },
    reduce: (acc, p) => {
      acc.c0 += p.c0
      acc.c1 += p.c1
      acc.c2 += p.c2
      acc.c3 += p.c3
      acc.c4 += p.c4
      acc.c5 += p.c5
    },
  })
  #points: Supercluster.PointFeature<PointProps>[] = []
  #pointIndexMap: Map<string, number> | undefined
  /** Point index of each indexed device; made on the first status change, not on the first render's path. */
  get #pointIndex(): Map<string, number> {
    return (this.#pointIndexMap ??= new Map(this.#points.map((p, i) => [p.properties.id, i])))
  }
  /** For point i and zoom z (0…MAX_ZOOM): index into clusterProps of the cluster holding it, or -1. */
  #chain: Int32Array<ArrayBufferLike> | undefined
  #chainTimer: ReturnType<typeof setTimeout> | undefined
  #needsRebuild = false
  #drawn: Drawn[] = []
  /** The server's clusters of the first view, drawn until the index built from the snapshot takes over. */
  #first: FirstViewClusters | undefined
  #swapTimer: ReturnType<typeof setTimeout> | undefined
  #origin = new L.Point(0, 0)
  #rebuildTimer: ReturnType<typeof setTimeout> | undefined
  #lastRebuildAt = 0
  #frame = 0
  selected: string | undefined
  dimmed = false
  /** Devices drawn with an alarm halo (set through setAlarmed). */
  #alarmed = new Set<string>()
  readonly stats: ClusterStats = {
    indexed: 0,
    drawnPoints: 0,
    drawnClusters: 0,
    clusteredDevices: 0,
    lastRebuildMs: 0,
    lastDrawMs: 0,
    rebuilds: 0,
    draws: 0,
    drawMsTotal: 0,
    alarmed: 0,
    drawnAlarms: 0,
    drawnByStatus: [0, 0, 0, 0, 0],
    drawnFromServer: false,
  }

  constructor(o: ClusterLayerOptions) {
    super()
    this.#o = o
  }

  override onAdd(map: L.Map): this {
    const canvas = (this.#canvas = L.DomUtil.create('canvas', 'mytho-cluster-canvas leaflet-zoom-hide'))
    map.getPane('overlayPane')!.appendChild(canvas)
    this.#ctx = canvas.getContext('2d')
    this.#sprites = buildSprites(window.devicePixelRatio || 1)
    map.on('moveend zoomend viewreset resize', this.#reset, this)
    map.on('move', this.#onDrag, this)
    map.on('click', this.#onClick, this)
    map.on('mousemove', this.#onMove, this)
    this.rebuild()
    return this
  }

  override onRemove(map: L.Map): this {
    map.off('moveend zoomend viewreset resize', this.#reset, this)
    map.off('move', this.#onDrag, this)
    map.off('click', this.#onClick, this)
    map.off('mousemove', this.#onMove, this)
    this.#canvas?.remove()
    clearTimeout(this.#rebuildTimer)
    clearTimeout(this.#chainTimer)
    clearTimeout(this.#swapTimer)
    cancelAnimationFrame(this.#frame)
    return this
  }

  /**
   * Draws the server's clusters of the first view now and builds the index from the store after the next paint
   * (its 70–100 ms at 10,000 devices no longer before the first draw). False, and nothing drawn, when they do not
   * fit what the map shows: another zoom, a canvas not inside their box, or devices with an alarm halo (the server's
   * rows carry no alarm counts). The caller then rebuilds. Only for a layer without a filter: they hold every device.
   */
  showFirst(fv: FirstViewClusters): boolean {
    const map = this._map
    if (!map || this.#alarmed.size > 0 || Math.round(map.getZoom()) !== fv.zoom) return false
    const [nw, se] = this.#canvasCorners(map)
    const [west, south, east, north] = fv.bbox
    if (nw.lng < west || se.lng > east || se.lat < south || nw.lat > north) return false
    clearTimeout(this.#rebuildTimer)
    this.#rebuildTimer = undefined
    clearTimeout(this.#swapTimer)
    this.#first = fv
    this.#reset()
    return true
  }

  /** The server's first-view clusters are what is drawn (showFirst), until the index is built (swapAfterPaint, rebuild). */
  get showingFirst(): boolean {
    return this.#first !== undefined
  }

  /**
   * The snapshot of the first view is in the store: builds the index from it after the frame that shows the server's
   * clusters, as a paint would come (a hidden tab gets no frame: after 100 ms then).
   */
  swapAfterPaint(): void {
    clearTimeout(this.#swapTimer)
    const fallback = setTimeout(() => this.#swap(), 100)
    requestAnimationFrame(() => {
      clearTimeout(fallback)
      this.#swapTimer = setTimeout(() => this.#swap(), 0)
    })
  }

  #swap(): void {
    if (this.#first) this.rebuild()
  }

  #canvasCorners(map: L.Map): [L.LatLng, L.LatLng] {
    const size = map.getSize()
    const pad = size.multiplyBy(PADDING).round()
    return [map.containerPointToLatLng([-pad.x, -pad.y]), map.containerPointToLatLng([size.x + pad.x, size.y + pad.y])]
  }

  /** Rebuilds the cluster index now (snapshot, filter change) and redraws. */
  rebuild(): void {
    clearTimeout(this.#rebuildTimer)
    this.#rebuildTimer = undefined
    clearTimeout(this.#swapTimer)
    this.#first = undefined
    const t0 = performance.now()
    const points: Supercluster.PointFeature<PointProps>[] = []
    for (const d of this.#o.store.devices.values())
      if (this.#o.accept(d))
        points.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [d.lon, d.lat] }, properties: { id: d.deviceId, s: statusIndex[d.status] } })
    this.#index.load(points)
    this.#points = points
    this.#pointIndexMap = undefined
    // the chains are needed only for the first status change: computed after the frame that shows the index
    this.#chain = undefined
    clearTimeout(this.#chainTimer)
    this.#chainTimer = setTimeout(() => this.#chains(), 50)
    this.#needsRebuild = false
    this.stats.indexed = points.length
    this.stats.lastRebuildMs = performance.now() - t0
    this.stats.rebuilds++
    this.#lastRebuildAt = performance.now()
    this.#reset()
  }

  /**
   * After updates that changed a status or a position. A status change of an indexed device that stays in the
   * filter moves one count in each cluster holding it (at most MAX_ZOOM + 1 of them) and is drawn on the next
   * frame; a device that enters or leaves the filter, moves or is new needs a rebuild, throttled by its cost.
   */
  changed(changes: readonly StatusChange[]): void {
    // the server's rows are as of the snapshot: the store has the change, the index built from it will too
    if (this.#first) {
      this.rebuild()
      return
    }
    const props = (this.#index as unknown as SuperclusterInternals<ClusterProps>).clusterProps
    const chain = this.#chains()
    const pointIndex = this.#pointIndex
    for (const { prev, next } of changes) {
      const i = pointIndex.get(next.deviceId)
      const was = prev !== undefined && i !== undefined
      const now = this.#o.accept(next)
      if (!was || !now || !this.#o.accept(prev) || prev.lat !== next.lat || prev.lon !== next.lon) {
        if (was || now) this.#needsRebuild = true
        continue
      }
      const from = countKeys[statusIndex[prev.status]]!
      const to = countKeys[statusIndex[next.status]]!
      for (const p of clustersHolding(chain, i, MAX_ZOOM)) {
        const c = props[p]!
        c[from]--
        c[to]++
      }
    }
    if (this.#needsRebuild && this.#rebuildTimer === undefined) {
      // at most ~10 % of the main thread goes to rebuilding, never more often than every 250 ms
      const wait = Math.max(250, this.stats.lastRebuildMs * 10) - (performance.now() - this.#lastRebuildAt)
      this.#rebuildTimer = setTimeout(() => this.rebuild(), Math.max(0, wait))
    }
    this.scheduleDraw()
  }

  /**
   * Devices with an alarming incident. Like a status change, each device that gains or loses one moves one count
   * (c5) in each cluster holding it, and the next frame draws it: no index rebuild and no redraw loop.
   */
  setAlarmed(ids: ReadonlySet<string>): void {
    const changed: [string, 1 | -1][] = [...ids].filter((id) => !this.#alarmed.has(id)).map((id) => [id, 1])
    for (const id of this.#alarmed) if (!ids.has(id)) changed.push([id, -1])
    if (!changed.length) return
    this.#alarmed = new Set(ids)
    this.stats.alarmed = this.#alarmed.size
    if (this.#first) {
      this.rebuild()
      return
    }
    const props = (this.#index as unknown as SuperclusterInternals<ClusterProps>).clusterProps
    const chain = this.#chains()
    for (const [id, delta] of changed) {
      const i = this.#pointIndex.get(id)
      if (i === undefined) continue
      for (const p of clustersHolding(chain, i, MAX_ZOOM)) props[p]!.c5 += delta
    }
    this.scheduleDraw()
  }

  #chains(): Int32Array<ArrayBufferLike> {
    clearTimeout(this.#chainTimer)
    return (this.#chain ??= clusterChains(this.#index as unknown as SuperclusterInternals<ClusterProps>, this.stats.indexed, MAX_ZOOM))
  }

  scheduleDraw(): void {
    if (this.#frame) return
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0
      this.#draw()
    })
  }

  /** Cluster of a device at the current zoom, for a deep link that selects a clustered device. */
  expansionZoomFor(clusterId: number): number {
    return this.#index.getClusterExpansionZoom(clusterId)
  }

  #lastDragDraw = 0
  /** A long drag leaves the padded canvas: re-place and redraw it a few times a second while dragging. */
  #onDrag(): void {
    const now = performance.now()
    if (now - this.#lastDragDraw < DRAG_REDRAW_MS) return
    this.#lastDragDraw = now
    this.#reset()
  }

  #reset(): void {
    const map = this._map
    const canvas = this.#canvas
    if (!map || !canvas) return
    const size = map.getSize()
    const pad = size.multiplyBy(PADDING).round()
    this.#origin = pad
    const w = size.x + 2 * pad.x
    const h = size.y + 2 * pad.y
    const dpr = window.devicePixelRatio || 1
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr)
      canvas.height = Math.round(h * dpr)
      canvas.style.width = `${w}px`
      canvas.style.height = `${h}px`
    }
    L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([-pad.x, -pad.y]))
    this.#draw()
  }

  #draw(): void {
    const map = this._map
    const c = this.#ctx
    const canvas = this.#canvas
    if (!map || !c || !canvas || !this.#sprites) return
    const t0 = performance.now()
    const dpr = window.devicePixelRatio || 1
    c.setTransform(dpr, 0, 0, dpr, 0, 0)
    c.clearRect(0, 0, canvas.width, canvas.height)
    c.globalAlpha = this.dimmed ? 0.45 : 1
    const size = map.getSize()
    const pad = this.#origin
    const nw = map.containerPointToLatLng([-pad.x, -pad.y])
    const se = map.containerPointToLatLng([size.x + pad.x, size.y + pad.y])
    const zoom = Math.round(map.getZoom())
    const drawn: Drawn[] = []
    let points = 0
    let clusters = 0
    let clustered = 0
    let alarms = 0
    const byStatus = [0, 0, 0, 0, 0]
    const store = this.#o.store
    const first = this.#first
    if (first) {
      // zoomed or panned out of the server's box before the swap: the index now
      if (first.zoom !== zoom || nw.lng < first.bbox[0] || se.lng > first.bbox[2] || se.lat < first.bbox[1] || nw.lat > first.bbox[3]) {
        this.rebuild()
        return
      }
      // the rows in the canvas's box, as the index's getClusters would give them (a row is in when its position is)
      for (let r = 0; r < first.id.length; r++) {
        const lon = first.lon[r]!
        const lat = first.lat[r]!
        if (lon < nw.lng || lon > se.lng || lat < se.lat || lat > nw.lat) continue
        const p = map.latLngToContainerPoint([lat, lon])
        const x = p.x + pad.x
        const y = p.y + pad.y
        const id = first.id[r]
        if (id === null || id === undefined) {
          const counts = first.counts.slice(5 * r, 5 * r + 5)
          let n = 0
          for (let k = 0; k < 5; k++) n += counts[k]!
          const radius = 13 + Math.min(14, Math.log10(n) * 6)
          this.#drawCluster(c, x, y, radius, counts, n, false, deviceStatuses[first.worst[r]!])
          // no cluster id to expand on a click: the index takes over on the next frame
          drawn.push({ x: p.x, y: p.y, r: radius + 4, counts })
          clusters++
          clustered += n
          for (let k = 0; k < 5; k++) byStatus[k]! += counts[k]!
        } else {
          // from the row: the store is empty until the snapshot, which follows the rows
          const kind = deviceKinds[first.kind[r]!]
          const status = first.worst[r]!
          if (!kind) continue
          const img = sprite(this.#sprites, kind, deviceStatuses[status]!, false)
          const s = img.width / dpr
          c.drawImage(img, x - s / 2, y - s / 2, s, s)
          drawn.push({ x: p.x, y: p.y, r: MARKER_SIZE / 2 + 2, id })
          points++
          byStatus[status]!++
        }
      }
    }
    const items = first ? [] : this.#index.getClusters([nw.lng, se.lat, se.lng, nw.lat], zoom)
    for (const f of items) {
      const [lon, lat] = f.geometry.coordinates as [number, number]
      const p = map.latLngToContainerPoint([lat, lon])
      const x = p.x + pad.x
      const y = p.y + pad.y
      const props = f.properties
      if ('cluster' in props && props.cluster) {
        const cp = props as unknown as ClusterProps
        const counts = [cp.c0, cp.c1, cp.c2, cp.c3, cp.c4]
        const n = props.point_count
        const r = 13 + Math.min(14, Math.log10(n) * 6)
        this.#drawCluster(c, x, y, r, counts, n, cp.c5 > 0)
        if (cp.c5 > 0) alarms++
        drawn.push({ x: p.x, y: p.y, r: r + 4, clusterId: props.cluster_id, counts })
        clusters++
        clustered += n
        for (let k = 0; k < 5; k++) byStatus[k]! += counts[k]!
      } else {
        const id = (props as PointProps).id
        const d = store.devices.get(id)
        if (!d) continue
        const img = sprite(this.#sprites, d.kind, d.status, false)
        const s = img.width / dpr
        if (this.#alarmed.has(id)) {
          drawHalo(c, x, y, s / 2)
          alarms++
        }
        c.drawImage(img, x - s / 2, y - s / 2, s, s)
        drawn.push({ x: p.x, y: p.y, r: MARKER_SIZE / 2 + 2, id })
        points++
        byStatus[statusIndex[d.status]]!++
      }
    }
    // the selected device is drawn on top at its own place, even when it sits in a cluster
    const sel = this.selected !== undefined ? store.devices.get(this.selected) : undefined
    if (sel && this.#o.accept(sel)) {
      const p = map.latLngToContainerPoint([sel.lat, sel.lon])
      const img = sprite(this.#sprites, sel.kind, sel.status, true)
      const s = img.width / dpr
      if (this.#alarmed.has(sel.deviceId)) drawHalo(c, p.x + pad.x, p.y + pad.y, s / 2)
      c.drawImage(img, p.x + pad.x - s / 2, p.y + pad.y - s / 2, s, s)
      drawn.push({ x: p.x, y: p.y, r: s / 2, id: sel.deviceId })
    }
    this.#drawn = drawn
    const ms = performance.now() - t0
    Object.assign(this.stats, {
      drawnFromServer: first !== undefined,
      drawnPoints: points,
      drawnClusters: clusters,
      clusteredDevices: clustered,
      drawnAlarms: alarms,
      drawnByStatus: byStatus,
      lastDrawMs: ms,
      draws: this.stats.draws + 1,
      drawMsTotal: this.stats.drawMsTotal + ms,
    })
  }

  #drawCluster(c: CanvasRenderingContext2D, x: number, y: number, r: number, counts: number[], n: number, alarmed: boolean, worst = worstStatus(counts)): void {
    if (alarmed) {
      // outside the status ring: a cluster hiding a device in alarm must not look like its majority
      c.beginPath()
      c.arc(x, y, r + 8, 0, Math.PI * 2)
      c.lineWidth = 3
      c.strokeStyle = ALARM_RED
      c.stroke()
    }
    // ring: one arc per status, proportional to its count
    let a = -Math.PI / 2
    c.lineWidth = 5
    for (let i = 0; i < counts.length; i++) {
      const k = counts[i] ?? 0
      if (!k) continue
      const sweep = (k / n) * Math.PI * 2
      c.beginPath()
      c.arc(x, y, r + 2.5, a, a + sweep)
      c.strokeStyle = statusColors[deviceStatuses[i]!]
      c.stroke()
      a += sweep
    }
    c.beginPath()
    c.arc(x, y, r, 0, Math.PI * 2)
    c.fillStyle = statusColors[worst]
    c.fill()
    c.lineWidth = 1.5
    c.strokeStyle = '#ffffff'
    c.stroke()
    c.fillStyle = '#ffffff'
    c.font = `bold ${n >= 1000 ? 11 : 13}px system-ui, sans-serif`
    c.textAlign = 'center'
    c.textBaseline = 'middle'
    c.fillText(n >= 10_000 ? `${Math.round(n / 1000)}k` : String(n), x, y + 0.5)
  }

  #hit(p: L.Point): Drawn | undefined {
    let best: Drawn | undefined
    let bestD = Infinity
    for (const d of this.#drawn) {
      const dd = (d.x - p.x) ** 2 + (d.y - p.y) ** 2
      if (dd <= d.r * d.r && dd < bestD) {
        best = d
        bestD = dd
      }
    }
    return best
  }

  #onClick(e: L.LeafletMouseEvent): void {
    const hit = this.#hit(e.containerPoint)
    if (!hit) return
    if (hit.id !== undefined) this.#o.onSelect(hit.id)
    else if (hit.clusterId !== undefined) {
      const zoom = Math.min(this.#index.getClusterExpansionZoom(hit.clusterId), 18)
      this._map.setView(e.latlng, zoom)
    }
  }

  #onMove(e: L.LeafletMouseEvent): void {
    const hit = this.#hit(e.containerPoint)
    this._map.getContainer().style.cursor = hit ? 'pointer' : ''
    this.#o.onHoverCluster(hit?.counts, e.containerPoint)
  }
}
