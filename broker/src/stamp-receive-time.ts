/**
 * Ingest keys a point by (deviceId, ts). A reading sent without `ts` would get a fresh receive time
 * each time it is redelivered to ingest, and be stored twice. So the broker stamps it once, on the way
 * in, before Aedes stores or forwards the message: every reading (a JSON object, alone or in an array)
 * that lacks `ts` gets `"rxTs": <receive time, epoch ms>`.
 *
 * The original bytes are kept: the stamp is spliced in before each reading's closing brace rather than
 * re-serialising, so number spellings (`1e999`, `20.50`) reach ingest exactly as sent. Put last, the
 * stamp also wins over any `rxTs` the device wrote itself (JSON.parse keeps the last duplicate key).
 *
 * Cheap first: no `{` → not a reading; at least as many `"ts"` as `{` → every object can have its
 * `ts` (the common case: devices with clocks), so the payload is not parsed at all. A nested object,
 * or the text "ts" as a value, only makes the check conservative (a parse that finds nothing to do),
 * except in one case: a reading without `ts` that mentions "ts" elsewhere in an array where every
 * other object has one is left unstamped; ingest then falls back to its own receive time.
 */
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c
const TS_KEY = Buffer.from('"ts"')

function countByte(buf: Buffer, byte: number): number {
  let n = 0
  for (let i = buf.indexOf(byte); i !== -1; i = buf.indexOf(byte, i + 1)) n++
  return n
}

function countBytes(buf: Buffer, seq: Buffer): number {
  let n = 0
  for (let i = buf.indexOf(seq); i !== -1; i = buf.indexOf(seq, i + seq.length)) n++
  return n
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Offsets of the `}` that close objects at `depth` (0: the document, 1: elements of a top-level array), in order. */
function closingBraces(buf: Buffer, depth: number): number[] {
  const out: number[] = []
  let level = 0
  let inString = false
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
    } else if (c === QUOTE) inString = true
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) level++
    else if (c === CLOSE_BRACKET) level--
    else if (c === CLOSE_BRACE && --level === depth) out.push(i)
  }
  return out
}

/** Returns the payload stamped, or the very same buffer when there is nothing to stamp. */
export function stampReceiveTime(payload: Buffer, receivedAt: number): Buffer {
  const braces = countByte(payload, OPEN_BRACE)
  if (braces === 0 || countBytes(payload, TS_KEY) >= braces) return payload
  let doc: unknown
  try {
    doc = JSON.parse(payload.toString('utf8'))
  } catch {
    return payload // not JSON: passes untouched, ingest dead-letters it
  }
  const isArray = Array.isArray(doc)
  const objects = (isArray ? (doc as unknown[]) : [doc]).filter(isPlainObject)
  if (objects.length === 0 || objects.every((o) => Object.hasOwn(o, 'ts'))) return payload
  const closes = closingBraces(payload, isArray ? 1 : 0)
  if (closes.length !== objects.length) return payload // cannot happen for JSON.parse-able text; never guess

  const pieces: Buffer[] = []
  let from = 0
  objects.forEach((o, i) => {
    if (Object.hasOwn(o, 'ts')) return
    const at = closes[i]!
    pieces.push(payload.subarray(from, at), Buffer.from(`${Object.keys(o).length > 0 ? ',' : ''}"rxTs":${receivedAt}`))
    from = at
  })
  pieces.push(payload.subarray(from))
  return Buffer.concat(pieces)
}
