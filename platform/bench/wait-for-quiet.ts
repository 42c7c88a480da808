import { procStats } from '@mytho/testing'

/**
 * Resolves once process `pid` used less than `busyBelow` of one CPU over a whole `windowMs`, or after `maxMs`;
 * returns how long it waited and whether it went quiet. A database still compacting what one part of a bench wrote
 * would otherwise be measured along with the part that follows.
 */
export async function waitForQuietProcess(
  pid: number,
  { busyBelow = 0.1, windowMs = 2_000, maxMs = 300_000 }: { busyBelow?: number; windowMs?: number; maxMs?: number } = {},
): Promise<{ waitedMs: number; quiet: boolean }> {
  const t0 = performance.now()
  for (;;) {
    const before = procStats(pid).cpuS
    const from = performance.now()
    await new Promise((r) => setTimeout(r, windowMs))
    const busy = (procStats(pid).cpuS - before) / ((performance.now() - from) / 1000)
    const waitedMs = performance.now() - t0
    if (busy < busyBelow) return { waitedMs, quiet: true }
    if (waitedMs >= maxMs) return { waitedMs, quiet: false }
  }
}
