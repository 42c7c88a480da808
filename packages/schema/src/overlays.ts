import { z } from 'zod'

/*
 * The city's own geography (issue #21): GeoJSON overlays from MAP_OVERLAYS_DIR and a basemap from MAP_BASEMAP_FILE.
 * One home for their shapes: the API validates the files at start with these and serves what the map draws.
 */

/** Largest overlay file, bytes: a city's wards, canals and main roads fit well under it; a whole country does not belong on the map. */
export const OVERLAY_MAX_BYTES = 20_000_000
/** Most features in one overlay, and most positions (vertices) in one overlay: what a browser draws without stalling. */
export const OVERLAY_MAX_FEATURES = 20_000
export const OVERLAY_MAX_POSITIONS = 1_000_000
/** Most overlay files in the directory. */
export const OVERLAY_MAX_FILES = 50

/** An overlay's id is its file name without `.geojson`: it appears in URLs. */
export const OverlayId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected 1–63 lower-case letters, digits or dashes (the file name without .geojson)')

/** RFC 7946 position: longitude, latitude (WGS 84), an optional altitude. Projected metres (VN-2000, UTM) fail here. */
const NOT_LONLAT = 'is not WGS 84 longitude/latitude (projected metres? reproject the layer to EPSG:4326)'
const Position = z
  .tuple(
    [
      z.number().min(-180, `longitude ${NOT_LONLAT}`).max(180, `longitude ${NOT_LONLAT}`),
      z.number().min(-90, `latitude ${NOT_LONLAT}`).max(90, `latitude ${NOT_LONLAT}`),
    ],
    z.number(),
  )
  .refine((p) => p.length <= 3, 'a position is [longitude, latitude] or [longitude, latitude, altitude]')
const sameSpot = (a: readonly number[], b: readonly number[]) => a[0] === b[0] && a[1] === b[1]
const LinearRing = z
  .array(Position)
  .min(4, 'a polygon ring needs at least 4 positions')
  .refine((r) => r.length < 4 || sameSpot(r[0]!, r[r.length - 1]!), 'a polygon ring must end where it starts')
const LineCoords = z.array(Position).min(2, 'a line needs at least 2 positions')
const PolygonCoords = z.array(LinearRing).min(1, 'a polygon needs an outer ring')

export const OverlayGeometry = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('Point'), coordinates: Position }),
    z.object({ type: z.literal('MultiPoint'), coordinates: z.array(Position) }),
    z.object({ type: z.literal('LineString'), coordinates: LineCoords }),
    z.object({ type: z.literal('MultiLineString'), coordinates: z.array(LineCoords) }),
    z.object({ type: z.literal('Polygon'), coordinates: PolygonCoords }),
    z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(PolygonCoords) }),
  ],
  { error: 'geometry type must be Point, MultiPoint, LineString, MultiLineString, Polygon or MultiPolygon' },
)
export type OverlayGeometry = z.infer<typeof OverlayGeometry>

/** Coordinate systems RFC 7946 allows (QGIS writes `crs` into its GeoJSON exports). */
const WGS84 = /^(urn:ogc:def:crs:OGC:1\.3:CRS84|urn:ogc:def:crs:EPSG::4326|EPSG:4326)$/

export const OverlayFeature = z.looseObject({
  type: z.literal('Feature', { error: 'expected "type": "Feature"' }),
  id: z.union([z.string(), z.number()]).optional(),
  geometry: OverlayGeometry,
  properties: z.record(z.string(), z.unknown()).nullable().default(null),
})
export type OverlayFeature = z.infer<typeof OverlayFeature>

/** A FeatureCollection; foreign members (QGIS's `name`, `crs`) are allowed, a projected `crs` is not. */
export const OverlayCollection = z.looseObject({
  type: z.literal('FeatureCollection', { error: 'expected a GeoJSON FeatureCollection' }),
  crs: z
    .object({
      properties: z.object({ name: z.string().regex(WGS84, 'coordinates must be WGS 84 longitude/latitude (EPSG:4326): reproject the layer') }).loose(),
    })
    .loose()
    .optional(),
  features: z.array(OverlayFeature).max(OVERLAY_MAX_FEATURES, `at most ${OVERLAY_MAX_FEATURES} features per overlay`),
})
export type OverlayCollection = z.infer<typeof OverlayCollection>

const Colour = z.string().regex(/^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'expected a colour like #0b4f6c')
const Bilingual = z.strictObject({ vi: z.string().min(1).max(80), en: z.string().min(1).max(80) })

/** How an overlay is drawn; unknown keys are refused, so a typo (`colour`) fails the start instead of being ignored. */
export const OverlayStyle = z.strictObject({
  color: Colour.default('#0b4f6c'),
  /** Line width, px. */
  weight: z.number().min(0).max(20).default(2),
  opacity: z.number().min(0).max(1).default(1),
  /** Fill polygons. */
  fill: z.boolean().default(false),
  fillColor: Colour.optional(),
  fillOpacity: z.number().min(0).max(1).default(0.2),
  /** SVG dash pattern, e.g. "6 4". */
  dash: z
    .string()
    .regex(/^\d{1,3}( \d{1,3}){1,7}$/, 'expected a dash pattern like "6 4"')
    .optional(),
})
export type OverlayStyle = z.infer<typeof OverlayStyle>

export const overlayGroups = ['boundaries', 'water', 'roads', 'hazards', 'other'] as const
export type OverlayGroup = (typeof overlayGroups)[number]

/**
 * The sidecar `<id>.layer.json` beside `<id>.geojson`: names, style and where the data comes from. Required: data
 * without a known source and licence is not drawn.
 */
export const OverlayLayerFile = z.strictObject({
  name: Bilingual,
  group: z.enum(overlayGroups).default('other'),
  /** Shown when the map opens. */
  defaultOn: z.boolean().default(true),
  style: OverlayStyle.default(OverlayStyle.parse({})),
  /** The feature property written as a label (e.g. "name"); features without it get none. */
  labelProperty: z.string().min(1).max(64).optional(),
  /** Where the data comes from (e.g. "OpenStreetMap, admin_level=8, exported 2026-11-30 with QGIS"). */
  source: z.string().min(3).max(300),
  /** Its licence (e.g. "ODbL 1.0"). */
  licence: z.string().min(2).max(100),
  /** The attribution the licence requires, shown on the map while the layer is on (plain text). */
  attribution: z.string().min(2).max(200),
  /** Order on the map and in the panel: lower first (drawn below). Default 100. */
  order: z.number().int().min(0).max(1000).default(100),
})
export type OverlayLayerFile = z.infer<typeof OverlayLayerFile>

/** GET /api/v1/overlays: one entry per layer, without its geometry (GET /api/v1/overlays/{id}). */
export const OverlaySummary = OverlayLayerFile.extend({
  id: OverlayId,
  /** Where its GeoJSON is served. */
  url: z.string(),
  features: z.number().int(),
})
export type OverlaySummary = z.infer<typeof OverlaySummary>
export const OverlayListResponse = z.object({ overlays: z.array(OverlaySummary) })
export type OverlayListResponse = z.infer<typeof OverlayListResponse>
export const OverlayIdPath = z.object({ id: OverlayId })

/** The basemap file's tiles as the map draws them (part of GET /api/v1/config when MAP_BASEMAP_FILE is set). */
export const BasemapInfo = z.object({
  /** Leaflet URL template of the API's tile route. */
  url: z.string(),
  attribution: z.string(),
  /** The zoom levels the file holds; the map scales its nearest tiles beyond them. */
  minZoom: z.number().int().min(0).max(24),
  maxZoom: z.number().int().min(0).max(24),
  /** [west, south, east, north] of the file's tiles, when it says: no requests outside it. */
  bounds: z.tuple([z.number(), z.number(), z.number(), z.number()]).optional(),
})
export type BasemapInfo = z.infer<typeof BasemapInfo>
export const TilePath = z.object({
  z: z.coerce.number().int().min(0).max(24),
  x: z.coerce.number().int().min(0),
  y: z.coerce.number().int().min(0),
})
