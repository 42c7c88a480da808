import type { Role } from '@mytho/schema'

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 }

/** Roles are ordered: each one may do what the ones below it may. */
export const atLeast = (have: Role | undefined, need: Role): boolean => have !== undefined && RANK[have] >= RANK[need]
