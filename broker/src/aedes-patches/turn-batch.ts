/*
 * One Redis call per event-loop turn for many small steps (redis-outgoing.ts, local-first-emitter.ts): an ioredis
 * command costs its own object, promise, encoding and reply parse, far more than the Redis work behind a queue
 * step, so the steps of one turn go out as the keys and arguments of one Lua call, in the order they were made.
 */

/** Steps per call at most: a Lua call blocks Redis while it runs. */
const MAX_STEPS = 512

type Arg = string | Buffer

/**
 * `step(keys, args)` adds a step to this turn's call and resolves (or rejects) with that call; a turn's call goes out
 * from setImmediate, or at once when MAX_STEPS are waiting. Calls go out in the order their steps were made.
 */
export function batchPerTurn(call: (keys: string[], args: Arg[]) => Promise<unknown>): (keys: string[], args: Arg[]) => Promise<unknown> {
  interface Batch {
    keys: string[]
    args: Arg[]
    steps: number
    result: Promise<unknown>
    send(): void
  }
  let open: Batch | undefined
  return (keys, args) => {
    if (!open) {
      const batch: Batch = { keys: [], args: [], steps: 0, result: Promise.resolve(), send: () => {} }
      // send() is idempotent (a promise resolves once): the turn's timer may fire after the batch went out full.
      batch.result = new Promise<void>((resolve) => (batch.send = resolve)).then(() => call(batch.keys, batch.args))
      open = batch
      setImmediate(() => {
        if (open === batch) open = undefined
        batch.send()
      })
    }
    const batch = open
    for (const k of keys) batch.keys.push(k)
    for (const a of args) batch.args.push(a)
    if (++batch.steps >= MAX_STEPS) {
      open = undefined
      batch.send()
    }
    return batch.result
  }
}
