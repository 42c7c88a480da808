import type { ReplayChanges, ReplayFrame, ReplayResolution, ReplayRow, ReplayState } from '@mytho/schema/replay'

/*
 * GET /api/v1/replay/state and /changes (packages/schema/src/replay.ts). The schema (and zod) load with the first
 * replay, not with the map. A changes answer at 10,000 devices holds 100,000s of rows: the envelope is checked with
 * the schema, the rows by a plain loop (zod takes ~1 µs a tuple, a dropped frame per window at 600×).
 */

const statuses = new Set(['ok', 'warning', 'alarm', 'offline', 'never_seen'])

/** A row as ReplayRow says, checked by hand; `n`: how many ids the answer has. */
function isRow(r: unknown, n: number): r is ReplayRow {
  if (!Array.isArray(r) || r.length !== 4) return false
  const [i, status, ts, fields] = r as unknown[]
  if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= n) return false
  if (typeof status !== 'string' || !statuses.has(status)) return false
  if (ts !== null && typeof ts !== 'number') return false
  if (fields === null) return true
  if (typeof fields !== 'object' || Array.isArray(fields)) return false
  for (const v of Object.values(fields as object)) if (typeof v !== 'number') return false
  return true
}

function checkFrames(frames: unknown, n: number): ReplayFrame[] {
  if (!Array.isArray(frames)) throw new Error('bad replay answer: frames')
  for (const f of frames as { t?: unknown; rows?: unknown }[]) {
    if (typeof f?.t !== 'number' || !Array.isArray(f.rows)) throw new Error('bad replay answer: frame')
    for (const r of f.rows) if (!isRow(r, n)) throw new Error('bad replay answer: row')
  }
  return frames as ReplayFrame[]
}

async function getJson(path: string, q: Record<string, string>, signal: AbortSignal): Promise<unknown> {
  const res = await fetch(`/api/v1/replay/${path}?${new URLSearchParams(q)}`, { signal, headers: { accept: 'application/json' } })
  if (!res.ok) throw new Error(`HTTP ${res.status}`)
  return res.json()
}

/** The city at `at`: one request per jump. */
export async function fetchReplayState(at: number, resolution: ReplayResolution, signal: AbortSignal): Promise<ReplayState> {
  const [{ ReplayState }, json] = await Promise.all([import('@mytho/schema/replay'), getJson('state', { at: String(at), resolution }, signal)])
  const { rows, ...rest } = json as { rows?: unknown }
  const head = ReplayState.omit({ rows: true }).parse(rest)
  const checked = checkFrames([{ t: head.at, rows }], head.ids.length)[0]!.rows
  return { ...head, rows: checked }
}

/** What changed in [from, to), to − from ≤ REPLAY_WINDOW_MAX_MS. */
export async function fetchReplayChanges(from: number, to: number, signal: AbortSignal): Promise<ReplayChanges> {
  const [{ ReplayChanges }, json] = await Promise.all([import('@mytho/schema/replay'), getJson('changes', { from: String(from), to: String(to) }, signal)])
  const { frames, ...rest } = json as { frames?: unknown }
  // ReplayChanges has refinements on none of its own fields: its shape without the frames
  const head = ReplayChanges.omit({ frames: true }).parse(rest)
  return { ...head, frames: checkFrames(frames, head.ids.length) }
}
