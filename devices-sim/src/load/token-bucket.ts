/**
 * Tokens at `ratePerS`, holding at most `burst`: take() says how many sends are due now. The load
 * mode spends them on devices in turn, so the total rate holds whatever the number of devices.
 */
export function createTokenBucket(ratePerS: number, burst: number, now: () => number = Date.now) {
  let tokens = 0
  let last = now()
  return {
    /** Whole tokens available now (and removes them). */
    take(): number {
      const t = now()
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * ratePerS)
      last = t
      const n = Math.floor(tokens)
      tokens -= n
      return n
    },
    /** Returns tokens not spent (devices not connected), so the rate catches up when they are. */
    giveBack(n: number): void {
      tokens = Math.min(burst, tokens + n)
    },
  }
}
