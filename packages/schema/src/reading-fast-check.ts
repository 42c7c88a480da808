import type { z } from 'zod'
import { DeviceReading } from './readings.ts'

/*
 * The readings' hot path without zod (issue #20). zod's parse of a reading was ~1.3 µs of the ~2 µs validateMessage
 * spends per message and most of its garbage (a result object, an output copy, a check context per field). The
 * schema stays the one home of the rules: this module reads each kind's shape once, at load, into plain bounds, and
 * accepts a reading only when it is sure zod would accept it with the same output. Anything else (an unknown key, a
 * value out of range, a check it does not know) goes to zod, which says exactly what is wrong, so a rejected reading's
 * reason is zod's word as before. readings.test.ts holds the two to the same answers.
 */

interface FieldRule {
  key: string
  optional: boolean
  /** A literal field (`kind`): the one value allowed. */
  literal?: string
  int: boolean
  min: number
  minInclusive: boolean
  max: number
  maxInclusive: boolean
}

type Compiled = { fields: FieldRule[]; keys: ReadonlySet<string> }

// zod's internals, as far as this reads them: def.type, def.innerType, def.values, def.checks[i]._zod.def.
interface Def {
  type: string
  innerType?: { _zod: { def: Def } }
  values?: unknown[]
  checks?: { _zod: { def: { check: string; value?: number; inclusive?: boolean; format?: string } } }[]
  shape?: Record<string, { _zod: { def: Def } }>
  catchall?: { _zod: { def: Def } }
}

/** The plain rule of one field, or undefined when it uses anything this does not read (zod then judges every reading). */
function fieldRule(key: string, def: Def): FieldRule | undefined {
  let optional = false
  if (def.type === 'optional' && def.innerType) {
    optional = true
    def = def.innerType._zod.def
  }
  const rule: FieldRule = { key, optional, int: false, min: -Infinity, minInclusive: true, max: Infinity, maxInclusive: true }
  if (def.type === 'literal') {
    if (def.values?.length !== 1 || typeof def.values[0] !== 'string' || def.checks?.length) return undefined
    rule.literal = def.values[0]
    return rule
  }
  if (def.type !== 'number') return undefined
  for (const check of def.checks ?? []) {
    const c = check._zod.def
    if (c.check === 'number_format' && c.format === 'safeint') rule.int = true
    else if (c.check === 'greater_than' && typeof c.value === 'number') [rule.min, rule.minInclusive] = [c.value, c.inclusive === true]
    else if (c.check === 'less_than' && typeof c.value === 'number') [rule.max, rule.maxInclusive] = [c.value, c.inclusive === true]
    else return undefined
  }
  return rule
}

function compile(schema: z.ZodType): Compiled | undefined {
  const def = (schema as unknown as { _zod: { def: Def } })._zod.def
  // A strict object: catchall `never`. Anything else (passthrough, transforms, refinements) stays zod's.
  if (def.type !== 'object' || !def.shape || def.catchall?._zod.def.type !== 'never' || def.checks?.length) return undefined
  const fields: FieldRule[] = []
  for (const [key, field] of Object.entries(def.shape)) {
    const rule = fieldRule(key, field._zod.def)
    if (!rule) return undefined
    fields.push(rule)
  }
  return { fields, keys: new Set(fields.map((f) => f.key)) }
}

const byKind = new Map<string, Compiled>()
for (const option of DeviceReading.options) {
  const compiled = compile(option)
  const kind = compiled?.fields.find((f) => f.key === 'kind')?.literal
  if (compiled && kind) byKind.set(kind, compiled)
}

/** Which kinds take the fast path (all of them today; a test fails if a schema change drops one). */
export const fastCheckedKinds: ReadonlySet<string> = new Set(byKind.keys())

/**
 * The reading zod would give for `body`, when it is sure zod accepts it; undefined otherwise (ask zod). Keys come out
 * in the shape's order, as zod's output has them.
 */
export function fastParseReading(body: Record<string, unknown>): DeviceReading | undefined {
  const kind = body['kind']
  const compiled = typeof kind === 'string' ? byKind.get(kind) : undefined
  if (!compiled) return undefined
  let present = 0
  for (const key in body) {
    if (!Object.hasOwn(body, key) || !compiled.keys.has(key)) return undefined
    present++
  }
  const out: Record<string, unknown> = {}
  let seen = 0
  for (const f of compiled.fields) {
    const v = body[f.key]
    if (v === undefined) {
      if (!f.optional || Object.hasOwn(body, f.key)) return undefined
      continue
    }
    seen++
    if (f.literal !== undefined) {
      if (v !== f.literal) return undefined
    } else if (
      typeof v !== 'number' ||
      (f.int ? !Number.isSafeInteger(v) : !Number.isFinite(v)) ||
      (f.minInclusive ? v < f.min : v <= f.min) ||
      (f.maxInclusive ? v > f.max : v >= f.max)
    )
      return undefined
    out[f.key] = v
  }
  return seen === present ? (out as DeviceReading) : undefined
}
