import type { DeviceRecord } from '@mytho/schema'
import { type Logger, silentLogger } from '@mytho/runtime'
import { rngFor } from '../prng.ts'
import { type SimulatorConfig, createSimulator } from '../simulator.ts'
import { createTokenBucket } from './token-bucket.ts'

/*
 * Load mode: N device connections, one reading per token of a bucket filled at the target total
 * rate, spent on the devices in a seeded order (same --seed, same sequence of senders and values).
 * A progress line every second (to a writer: the CLI sends it to stderr), a summary at the end.
 */

export interface LoadOptions {
  /** Total readings per second over all devices. */
  ratePerS: number
  /** Seconds of sending after every device is connected (or the connect phase gave up). */
  durationS: number
  /** Progress every second; default none. */
  progress?: (line: string) => void
  /** ms between bucket draws. Default 20. */
  tickMs?: number
}

export interface LoadSummary {
  devices: number
  connected: number
  connectMs: number
  durationS: number
  targetPerS: number
  sent: number
  acked: number
  errors: number
  reconnects: number
  sentPerS: number
  ackedPerS: number
  /** Readings short of target × duration (devices not connected or at their in-flight limit, or the CPU). */
  missed: number
  rssMb: number
  heapMb: number
}

export async function runLoad(
  config: SimulatorConfig,
  fleet: readonly DeviceRecord[],
  opts: LoadOptions,
  deps: { secrets?: Readonly<Record<string, string>>; logger?: Logger; signal?: AbortSignal } = {},
): Promise<LoadSummary> {
  const log = deps.logger ?? silentLogger
  const sim = createSimulator(
    { ...config, selfPaced: false, statsLogEveryMs: 0 },
    { registry: fleet, logger: log, ...(deps.secrets ? { secrets: deps.secrets } : {}) },
  )
  const connectStart = Date.now()
  let progressTimer: NodeJS.Timeout | undefined
  let prev = { t: Date.now(), published: 0, acked: 0 }
  const line = (phase: string) => {
    const s = sim.stats
    const t = Date.now()
    const dt = Math.max(1, t - prev.t) / 1000
    const out = `[${phase}] connected ${s.connected}/${s.devices}  sent/s ${Math.round((s.published - prev.published) / dt)}  acked/s ${Math.round((s.acked - prev.acked) / dt)}  errors ${s.errors}  reconnects ${s.reconnects}`
    prev = { t, published: s.published, acked: s.acked }
    return out
  }
  let phase = 'connect'
  if (opts.progress) {
    const progress = opts.progress
    progressTimer = setInterval(() => progress(line(phase)), 1000)
    progressTimer.unref()
  }
  try {
    await sim.start()
    const connectMs = Date.now() - connectStart
    phase = 'load'
    // The senders' order: a seeded permutation of the devices (Fisher–Yates).
    const order = sim.runners.map((_, i) => i)
    const rng = rngFor(config.SIM_SEED, 'load-order', order.length)
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1))
      ;[order[i], order[j]] = [order[j]!, order[i]!]
    }
    const bucket = createTokenBucket(opts.ratePerS, Math.max(1, opts.ratePerS / 10))
    const before = sim.stats
    const loadStart = Date.now()
    let cursor = 0
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        if (Date.now() - loadStart >= opts.durationS * 1000 || deps.signal?.aborted) {
          clearInterval(tick)
          resolve()
          return
        }
        let due = bucket.take()
        // Try each device at most once per draw; tokens nobody could use are dropped (summary: missed).
        for (let tries = 0; due > 0 && tries < order.length; tries++) {
          const r = sim.runners[order[cursor]!]!
          cursor = (cursor + 1) % order.length
          if (r.publishNow()) due--
        }
      }, opts.tickMs ?? 20)
    })
    const elapsedS = (Date.now() - loadStart) / 1000
    // Give outstanding acknowledgements a moment (bounded) before counting.
    const drainUntil = Date.now() + 5000
    while (sim.stats.acked + sim.stats.errors < sim.stats.published && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 50))
    const s = sim.stats
    const mem = process.memoryUsage()
    return {
      devices: s.devices,
      connected: s.connected,
      connectMs,
      durationS: Math.round(elapsedS * 10) / 10,
      targetPerS: opts.ratePerS,
      sent: s.published - before.published,
      acked: s.acked - before.acked,
      errors: s.errors,
      reconnects: s.reconnects,
      sentPerS: Math.round((s.published - before.published) / elapsedS),
      ackedPerS: Math.round((s.acked - before.acked) / elapsedS),
      missed: Math.max(0, Math.round(opts.ratePerS * elapsedS) - (s.published - before.published)),
      rssMb: Math.round(mem.rss / 1e6),
      heapMb: Math.round(mem.heapUsed / 1e6),
    }
  } finally {
    clearInterval(progressTimer)
    await sim.stop()
  }
}
