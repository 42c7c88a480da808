/*
 * Who did something, as the incident store and the audit log record it (issue #15). A signed-in operator is their
 * user name. A caller without a session (AUTH_DISABLED, or an embedder without sign-in) is `anonymous@ADDRESS`, the
 * client's address: '@' is outside OPERATOR_NAME_PATTERN (auth.ts), so no operator can ever be that actor, and a name
 * such a caller gives is kept apart as `claimedBy`, unchecked. Without zod, so the map's first render can use it.
 */

export const ANONYMOUS_ACTOR_PREFIX = 'anonymous@'

/** The actor of an action taken without a session, from the client address. */
export const anonymousActor = (address: string): string => `${ANONYMOUS_ACTOR_PREFIX}${address}`

/** The client address of an anonymous actor; undefined for an operator. */
export const anonymousAddress = (actor: string): string | undefined =>
  actor.startsWith(ANONYMOUS_ACTOR_PREFIX) ? actor.slice(ANONYMOUS_ACTOR_PREFIX.length) : undefined
