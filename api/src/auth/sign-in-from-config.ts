import type { Logger } from '@mytho/runtime'
import type { AuditInput, OperatorStore } from '@mytho/directory'
import type { ApiConfig } from '../config.ts'
import type { AuthContext } from './session.ts'
import { openLimitsFromConfig } from './throttle-from-config.ts'

/**
 * Sign-in (issue #6) as the configuration asks: the throttle and rate limit (where they count: memory, or the
 * cluster's Redis with REDIS_URL), the session settings, and the audit writer. Without an operator store there is
 * no sign-in (every caller is an anonymous operator). Library defaults keep an embedder's old behaviour; env config
 * gives production's.
 */
export function signInFromConfig(
  config: Partial<
    Pick<ApiConfig, 'REDIS_URL' | 'AUTH_DISABLED' | 'SESSION_TTL_H' | 'LOGIN_MAX_FAILURES' | 'LOGIN_LOCKOUT_S' | 'API_RATE_LIMIT_PER_MIN' | 'BEHIND_PROXY'>
  >,
  deps: { operators: OperatorStore | undefined; https: boolean; logger: Logger },
) {
  const log = deps.logger
  // On a cluster, sign-in throttles and rate limits count over every API node (auth/throttle-from-config.ts).
  const limits = openLimitsFromConfig(config, {
    // Per (user name, client address) and per address, never per name alone (auth/throttle.ts): a stranger's guesses never lock the operator out.
    throttle: { maxFailures: config.LOGIN_MAX_FAILURES ?? 5, windowMs: 15 * 60_000, lockoutMs: (config.LOGIN_LOCKOUT_S ?? 900) * 1000 },
    ratePerMinute: config.API_RATE_LIMIT_PER_MIN ?? 0,
    logger: log.child({ part: 'limits' }),
  })
  const auth: AuthContext | undefined = deps.operators && {
    operators: deps.operators,
    throttle: limits.throttle,
    anonymousRole: config.AUTH_DISABLED ? 'operator' : undefined,
    sessionTtlMs: (config.SESSION_TTL_H ?? 12) * 3_600_000,
    secureCookies: deps.https || (config.BEHIND_PROXY ?? false),
  }
  const audit = (entry: AuditInput, now: number): Promise<void> =>
    auth
      ? auth.operators.audit(entry, now).catch((err: unknown) => log.error('audit entry not written', { err, action: entry.action, actor: entry.actor }))
      : Promise.resolve()
  return { auth, limits, audit }
}
