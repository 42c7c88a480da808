import * as L from 'leaflet'
import Supercluster from 'supercluster'
import { deviceStatuses, type LiveDeviceState } from './schema.ts'
import { buildSprites, MARKER_SIZE, sprite, type SpriteSet } from './icons.ts'
import { statusColors, statusIndex, worstStatus } from './status.ts'
import type { DeviceStore } from './store.ts'

interface PointProps {
  id: string
}
interface ClusterProps {
  /** Devices per status, indexed like deviceStatuses. */
  c: number[]
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
}

export interface ClusterLayerOptions {
  store: DeviceStore
  /** Client-side filter; the cluster index holds only devices it accepts. */
  accept: (d: LiveDeviceState) => boolean
  onSelect: (deviceId: string) => void
  onHoverCluster: (counts: number[] | undefined, at: L.Point) => void
}

/** Canvas pixels drawn around the view on each side, as a share of the view, so a short pan shows no blank edge. */
const PADDING = 0.5

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
    radius: 60,
    maxZoom: 17,
    map: (p) => {
      const c = [0, 0, 0, 0, 0]
      const d = this.#o.store.devices.get(p.id)
      if (d) c[statusIndex[d.status]] = 1
      return { c }
    },
    reduce: (acc, p) => {
      for (let i = 0; i < acc.c.length; i++) acc.c[i]! += p.c[i] ?? 0
    },
  })
  #drawn: Drawn[] = []
  #origin = new L.Point(0, 0)
  #builtVersion = -1
  #rebuildTimer: ReturnType<typeof setTimeout> | undefined
  #lastRebuildAt = 0
  #frame = 0
  selected: string | undefined
  dimmed = false
  readonly stats: ClusterStats = { indexed: 0, drawnPoints: 0, drawnClusters: 0, clusteredDevices: 0, lastRebuildMs: 0, lastDrawMs: 0 }

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
    map.on('click', this.#onClick, this)
    map.on('mousemove', this.#onMove, this)
    this.rebuild()
    return this
  }

  override onRemove(map: L.Map): this {
    map.off('moveend zoomend viewreset resize', this.#reset, this)
    map.off('click', this.#onClick, this)
    map.off('mousemove', this.#onMove, this)
    this.#canvas?.remove()
    clearTimeout(this.#rebuildTimer)
    cancelAnimationFrame(this.#frame)
    return this
  }

  /** Rebuilds the cluster index now (snapshot, filter change) and redraws. */
  rebuild(): void {
    clearTimeout(this.#rebuildTimer)
    this.#rebuildTimer = undefined
    const t0 = performance.now()
    const points: Supercluster.PointFeature<PointProps>[] = []
    for (const d of this.#o.store.devices.values())
      if (this.#o.accept(d)) points.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [d.lon, d.lat] }, properties: { id: d.deviceId } })
    this.#index.load(points)
    this.#builtVersion = this.#o.store.structureVersion
    this.stats.indexed = points.length
    this.stats.lastRebuildMs = performance.now() - t0
    this.#lastRebuildAt = performance.now()
    this.#reset()
  }

  /** After updates: redraw on the next frame; rebuild later if statuses or membership changed. */
  changed(): void {
    if (this.#o.store.structureVersion !== this.#builtVersion && this.#rebuildTimer === undefined) {
      // at most ~10 % of the main thread goes to rebuilding, never more often than every 250 ms
      const wait = Math.max(250, this.stats.lastRebuildMs * 10) - (performance.now() - this.#lastRebuildAt)
      this.#rebuildTimer = setTimeout(() => this.rebuild(), Math.max(0, wait))
    }
    this.scheduleDraw()
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
    const items = this.#index.getClusters([nw.lng, se.lat, se.lng, nw.lat], zoom)
    const drawn: Drawn[] = []
    let points = 0
    let clusters = 0
    let clustered = 0
    const store = this.#o.store
    for (const f of items) {
      const [lon, lat] = f.geometry.coordinates as [number, number]
      const p = map.latLngToContainerPoint([lat, lon])
      const x = p.x + pad.x
      const y = p.y + pad.y
      const props = f.properties
      if ('cluster' in props && props.cluster) {
        const counts = props.c
        const n = props.point_count
        const r = 13 + Math.min(14, Math.log10(n) * 6)
        this.#drawCluster(c, x, y, r, counts, n)
        drawn.push({ x: p.x, y: p.y, r: r + 4, clusterId: props.cluster_id, counts })
        clusters++
        clustered += n
      } else {
        const id = (props as PointProps).id
        const d = store.devices.get(id)
        if (!d) continue
        const img = sprite(this.#sprites, d.kind, d.status, false)
        const s = img.width / dpr
        c.drawImage(img, x - s / 2, y - s / 2, s, s)
        drawn.push({ x: p.x, y: p.y, r: MARKER_SIZE / 2 + 2, id })
        points++
      }
    }
    // the selected device is drawn on top at its own place, even when it sits in a cluster
    const sel = this.selected !== undefined ? store.devices.get(this.selected) : undefined
    if (sel && this.#o.accept(sel)) {
      const p = map.latLngToContainerPoint([sel.lat, sel.lon])
      const img = sprite(this.#sprites, sel.kind, sel.status, true)
      const s = img.width / dpr
      c.drawImage(img, p.x + pad.x - s / 2, p.y + pad.y - s / 2, s, s)
      drawn.push({ x: p.x, y: p.y, r: s / 2, id: sel.deviceId })
    }
    this.#drawn = drawn
    Object.assign(this.stats, { drawnPoints: points, drawnClusters: clusters, clusteredDevices: clustered, lastDrawMs: performance.now() - t0 })
  }

  #drawCluster(c: CanvasRenderingContext2D, x: number, y: number, r: number, counts: number[], n: number): void {
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
    c.fillStyle = statusColors[worstStatus(counts)]
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
