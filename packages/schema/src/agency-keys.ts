import { z } from 'zod'
import { DeviceKind, Ward } from './kinds.ts'

/*
 * Agency keys (issue #22): another state agency reads the city's data through the sharing routes (/ngsi-ld/v1) with a
 * key an admin issued. A key is read-only by construction (the sharing routes take no writes but its own
 * subscriptions) and scoped: which kinds, which wards, raw or hourly-aggregated values only, requests a minute.
 */

/** `raw`: readings as stored and every roll-up; `aggregated`: roll-ups only (hourly means and the like), never a single reading. */
export const agencyAccessLevels = ['raw', 'aggregated'] as const
export const AgencyAccess = z.enum(agencyAccessLevels)
export type AgencyAccess = z.infer<typeof AgencyAccess>

export const AgencyKeyScope = z.strictObject({
  kinds: z.array(DeviceKind).min(1).describe('device kinds the key may read'),
  wards: z.array(Ward).min(1).describe('wards whose devices the key may read'),
  access: AgencyAccess.default('aggregated').describe('raw readings, or aggregated (roll-ups) only'),
  /** Requests a minute, bursts up to the same number (a token bucket); 429 with Retry-After past it. */
  ratePerMinute: z.number().int().min(1).max(6000).default(60),
})
export type AgencyKeyScope = z.infer<typeof AgencyKeyScope>

/** POST /api/v1/admin/agency-keys. */
export const AgencyKeyCreateRequest = z.strictObject({
  /** What the key is for, as the admin lists it ("hydromet feed"). */
  name: z.string().trim().min(1).max(100),
  /** Who holds it ("Đài KTTV Đồng Tháp"). */
  agency: z.string().trim().min(1).max(200),
  scope: AgencyKeyScope,
  /** When the key stops working, UTC ms; never when absent. */
  expiresAt: z.number().int().min(0).optional(),
})
export type AgencyKeyCreateRequest = z.infer<typeof AgencyKeyCreateRequest>

/** Key ids are 16 hex characters; the id is the public half of a key, shown in lists and audit entries. */
export const AGENCY_KEY_ID_PATTERN = /^[0-9a-f]{16}$/
export const AgencyKeyIdPath = z.object({ id: z.string().regex(AGENCY_KEY_ID_PATTERN, '16 hex characters') })

/** A key as lists show it: never the secret, which only its creation answer holds. */
export const AgencyKeyView = z.object({
  id: z.string(),
  name: z.string(),
  agency: z.string(),
  scope: AgencyKeyScope,
  createdAt: z.number().int(),
  createdBy: z.string(),
  expiresAt: z.number().int().nullable(),
  revokedAt: z.number().int().nullable(),
  /** Requests made with the key (every sharing request, refused ones too). */
  useCount: z.number().int(),
  lastUsedAt: z.number().int().nullable(),
})
export type AgencyKeyView = z.infer<typeof AgencyKeyView>

/** The creation answer: the whole key, shown this once (the store keeps its hash). */
export const AgencyKeyCreated = z.object({ key: z.string(), agencyKey: AgencyKeyView })
export type AgencyKeyCreated = z.infer<typeof AgencyKeyCreated>

/** One request made with a key, as its use log keeps it. */
export const AgencyKeyUse = z.object({
  ts: z.number().int(),
  method: z.string(),
  path: z.string(),
  status: z.number().int(),
  ip: z.string().nullable(),
})
export type AgencyKeyUse = z.infer<typeof AgencyKeyUse>

export const AgencyKeyUsesParams = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) })
