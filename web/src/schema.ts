/*
 * The shared schema's browser-safe modules. The package index also exports the seed-fleet loader, which
 * needs node:fs; importing these files one by one keeps Node built-ins out of the bundle.
 */
export * from '@mytho/schema/kinds'
export * from '@mytho/schema/live-events'
export { metricsByKind } from '@mytho/schema/readings'
export { CITY_BOUNDS } from '@mytho/schema/city'
export { HistorySeries } from '@mytho/schema/stored-reading'
export * from '@mytho/schema/incidents'
export type { PipelineHealth } from '@mytho/schema/pipeline-health'
