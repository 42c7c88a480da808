/**
 * What sign-in did, for Prometheus (metrics.ts: mytho_api_signins_total by outcome, mytho_api_signin_lockouts_total).
 * Every outcome is listed here so its counter exists at 0 before the first one: increase() over a series that
 * appears at its first increment misses that increment (the first throttled guess).
 *
 *   success     signed in
 *   rejected    wrong user name or password, or a disabled operator (the store does not say which, on purpose)
 *   throttled   held up by the sign-in throttle before the password was looked at (429 with Retry-After)
 *   invalid     a malformed request (not JSON, a bad body): refused before the throttle
 *   error       the API failed (the operator store unreachable, no sign-in configured)
 */
export const signInOutcomes = ['success', 'rejected', 'throttled', 'invalid', 'error'] as const
export type SignInOutcome = (typeof signInOutcomes)[number]

export function outcomeOfStatus(status: number): SignInOutcome {
  if (status < 400) return 'success'
  if (status === 401) return 'rejected'
  if (status === 429) return 'throttled'
  return status < 500 ? 'invalid' : 'error'
}

/**
 * A lockout is counted when a (user name, address) pair that was let through on its last attempt is held up: the
 * moment a guesser (or an operator who mistyped too often) starts waiting, once per wait, however many held-up
 * attempts follow. The throttle itself (memory or Redis) keeps no such event, so the pairs held up now are kept
 * here, per API node, at most `maxHeld` of them (the oldest forgotten first; a forgotten one counts again).
 * On a cluster each node counts the lockouts it saw: sum over the nodes.
 */
export function createSignInStats(maxHeld = 10_000) {
  const outcomes = Object.fromEntries(signInOutcomes.map((o) => [o, 0])) as Record<SignInOutcome, number>
  const held = new Set<string>()
  const stats = {
    outcomes,
    lockouts: 0,
    /** The answer a sign-in got. */
    answered(status: number): void {
      outcomes[outcomeOfStatus(status)]++
    },
    /** The throttle held this pair up. */
    heldUp(pair: string): void {
      if (held.has(pair)) return
      held.add(pair)
      while (held.size > maxHeld) held.delete(held.values().next().value!)
      stats.lockouts++
    },
    /** The throttle let this pair try: a later hold is a new lockout. */
    letThrough(pair: string): void {
      held.delete(pair)
    },
  }
  return stats
}
export type SignInStats = ReturnType<typeof createSignInStats>
