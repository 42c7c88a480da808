/*
 * One Redis call per event-loop turn for many small steps (redis-outgoing.ts, local-first-emitter.ts): an ioredis
 * command costs its own object, promise, encoding and reply parse, far more than the Redis work behind a queue
 * step, so the steps of one turn go out as one Lua call, in the order they were made.
 *
 * The steps travel as one argument, their parts length-prefixed (4 bytes, big-endian, then the bytes), which the
 * script reads back with READ_PARTS. ioredis encodes each argument of a command on its own (a string built and
 * measured three times, then copied), and with a dozen arguments per message that was ~12 % of a cluster node's CPU.
 * The keys a step touches are therefore not declared as KEYS: a standalone Redis runs such a script, a Redis Cluster
 * would not (the queue already needs one Redis: see redis-outgoing.ts).
 */

/** Steps per call at most: a Lua call blocks Redis while it runs. */
const MAX_STEPS = 512

type Part = string | Buffer

/**
 * Lua: `nextPart()` returns the next part of ARGV[1], `moreParts()` whether one is left. A script starts with this.
 */
export const READ_PARTS = `local frame = ARGV[1]
local at = 1
local function nextPart()
  local a, b, c, d = string.byte(frame, at, at + 3)
  local n = ((a * 256 + b) * 256 + c) * 256 + d
  local v = string.sub(frame, at + 4, at + 3 + n)
  at = at + 4 + n
  return v
end
local function moreParts() return at <= #frame end
`

/** The parts of a call's steps, each length-prefixed, in one Buffer. */
export function packParts(parts: readonly Part[]): Buffer {
  let size = 0
  for (const p of parts) size += 4 + (typeof p === 'string' ? Buffer.byteLength(p) : p.length)
  const frame = Buffer.allocUnsafe(size)
  let at = 0
  for (const p of parts) {
    if (typeof p === 'string') {
      const n = frame.write(p, at + 4)
      frame.writeUInt32BE(n, at)
      at += 4 + n
    } else {
      frame.writeUInt32BE(p.length, at)
      p.copy(frame, at + 4)
      at += 4 + p.length
    }
  }
  return frame
}

/** Called once a step's call has run: with its error, or without one. */
export type StepDone = (err?: Error | null) => void

/**
 * `step(parts, done?)` adds a step to this turn's call and returns that call's promise (shared by its steps, so a
 * step made only for its effect costs no promise of its own; a failed call counts as handled here, so such a step
 * needs no catch). `done`, if given, is called when the call has run. A turn's call goes out from setImmediate, or at
 * once when MAX_STEPS are waiting. Calls go out in the order their steps were made.
 */
export function batchPerTurn(call: (frame: Buffer) => Promise<unknown>): (parts: readonly Part[], done?: StepDone) => Promise<unknown> {
  interface Batch {
    parts: Part[]
    steps: number
    done: StepDone[]
    result: Promise<unknown>
    send(): void
  }
  let open: Batch | undefined
  return (parts, done) => {
    if (!open) {
      const batch: Batch = { parts: [], steps: 0, done: [], result: Promise.resolve(), send: () => {} }
      // send() is idempotent (a promise resolves once): the turn's timer may fire after the batch went out full.
      batch.result = new Promise<void>((resolve) => (batch.send = resolve)).then(() => call(packParts(batch.parts)))
      batch.result.then(
        () => {
          for (const d of batch.done) d()
        },
        (err: Error) => {
          for (const d of batch.done) d(err)
        },
      )
      open = batch
      setImmediate(() => {
        if (open === batch) open = undefined
        batch.send()
      })
    }
    const batch = open
    for (const p of parts) batch.parts.push(p)
    if (done) batch.done.push(done)
    if (++batch.steps >= MAX_STEPS) {
      open = undefined
      batch.send()
    }
    return batch.result
  }
}
