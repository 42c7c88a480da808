import type { DeviceKind, DeviceStatus } from './schema.ts'
import { statusColors } from './status.ts'

/** Marker diameter in CSS pixels. */
export const MARKER_SIZE = 22

type Glyph = (c: CanvasRenderingContext2D, r: number) => void

/** One white glyph per kind, drawn in a box of radius r around the origin. */
const glyphs: Record<DeviceKind, Glyph> = {
  traffic: (c, r) => {
    // a car: body and two wheels
    c.fillRect(-r * 0.6, -r * 0.25, r * 1.2, r * 0.45)
    c.fillRect(-r * 0.35, -r * 0.5, r * 0.7, r * 0.3)
    c.beginPath()
    c.arc(-r * 0.32, r * 0.28, r * 0.16, 0, Math.PI * 2)
    c.arc(r * 0.32, r * 0.28, r * 0.16, 0, Math.PI * 2)
    c.fill()
  },
  water_level: (c, r) => {
    // three waves
    c.lineWidth = r * 0.16
    for (const y of [-0.35, 0, 0.35]) {
      c.beginPath()
      c.moveTo(-r * 0.6, y * r)
      c.quadraticCurveTo(-r * 0.3, (y - 0.2) * r, 0, y * r)
      c.quadraticCurveTo(r * 0.3, (y + 0.2) * r, r * 0.6, y * r)
      c.stroke()
    }
  },
  rain: (c, r) => {
    // a drop
    c.beginPath()
    c.moveTo(0, -r * 0.65)
    c.bezierCurveTo(r * 0.55, 0, r * 0.45, r * 0.6, 0, r * 0.6)
    c.bezierCurveTo(-r * 0.45, r * 0.6, -r * 0.55, 0, 0, -r * 0.65)
    c.fill()
  },
  salinity: (c, r) => {
    // salt crystal: a diamond with a dot
    c.beginPath()
    c.moveTo(0, -r * 0.6)
    c.lineTo(r * 0.55, 0)
    c.lineTo(0, r * 0.6)
    c.lineTo(-r * 0.55, 0)
    c.closePath()
    c.fill()
  },
  air_quality: (c, r) => {
    // particles
    for (const [x, y, s] of [
      [-0.3, -0.3, 0.2],
      [0.3, -0.25, 0.15],
      [0, 0.1, 0.22],
      [-0.35, 0.35, 0.13],
      [0.35, 0.35, 0.17],
    ] as const) {
      c.beginPath()
      c.arc(x * r, y * r, s * r, 0, Math.PI * 2)
      c.fill()
    }
  },
}

export interface SpriteSet {
  dpr: number
  images: Map<string, HTMLCanvasElement>
}
const spriteKey = (kind: DeviceKind, status: DeviceStatus, selected: boolean) => `${kind}|${status}|${selected ? 1 : 0}`

/**
 * Marker images (kind × status × selected) at the device pixel ratio, so a frame is only drawImage calls. Each is
 * drawn when first needed: all 50 took ~5–9 ms of the first render, which shows a few of them.
 */
export const buildSprites = (dpr: number): SpriteSet => ({ dpr, images: new Map() })

function drawSprite(dpr: number, kind: DeviceKind, status: DeviceStatus, selected: boolean): HTMLCanvasElement {
  const size = MARKER_SIZE + (selected ? 8 : 0)
  const cv = document.createElement('canvas')
  cv.width = cv.height = Math.ceil((size + 2) * dpr)
  const c = cv.getContext('2d')!
  c.scale(dpr, dpr)
  c.translate((size + 2) / 2, (size + 2) / 2)
  const r = size / 2
  c.beginPath()
  c.arc(0, 0, r, 0, Math.PI * 2)
  c.fillStyle = statusColors[status]
  c.fill()
  c.lineWidth = selected ? 3 : 1.5
  c.strokeStyle = selected ? '#0b4f6c' : '#ffffff'
  c.stroke()
  c.fillStyle = c.strokeStyle = '#ffffff'
  glyphs[kind](c, MARKER_SIZE / 2 - 3)
  return cv
}

export function sprite(s: SpriteSet, kind: DeviceKind, status: DeviceStatus, selected: boolean): HTMLCanvasElement {
  const key = spriteKey(kind, status, selected)
  let img = s.images.get(key)
  if (!img) s.images.set(key, (img = drawSprite(s.dpr, kind, status, selected)))
  return img
}
