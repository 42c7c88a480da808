import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { NgsiEntityType } from './ngsi-ld.ts'

/** The @context and the Smart Data Model schemas shipped with the project (../ngsi-ld/README.md says whence). */
export const NGSI_LD_DIR = fileURLToPath(new URL('../ngsi-ld/', import.meta.url))

/** The JSON-LD @context the sharing interface serves and links (read once, at first use). */
let context: unknown
export function ngsiContextDocument(): unknown {
  context ??= JSON.parse(readFileSync(`${NGSI_LD_DIR}context/mytho.jsonld`, 'utf8'))
  return context
}

/** A model's JSON Schema (key-values form), as shipped. */
export const smartDataModelSchema = (type: NgsiEntityType): Record<string, unknown> =>
  JSON.parse(readFileSync(`${NGSI_LD_DIR}schemas/${type}.schema.json`, 'utf8')) as Record<string, unknown>
