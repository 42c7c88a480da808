import { z } from 'zod'
import { NewPassword, refinePasswordNotUsername } from './password-policy.ts'
import { DeviceRecord } from './registry.ts'

export * from './password-policy.ts'

/*
 * Operators, sessions, audit and device provisioning over the API (issue #6). Roles are ordered:
 * viewer (map and history) < operator (also acknowledges incidents) < admin (also devices and operators).
 */
export const Role = z.enum(['viewer', 'operator', 'admin'])
export type Role = z.infer<typeof Role>

export const OPERATOR_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$/

export const LoginRequest = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
})
export type LoginRequest = z.infer<typeof LoginRequest>

/** Who is signed in, and the CSRF token every state-changing request must echo in `X-CSRF-Token`. */
export const SessionResponse = z.object({
  username: z.string(),
  role: Role,
  csrfToken: z.string(),
  /** Epoch ms. */
  expiresAt: z.number().int(),
})
export type SessionResponse = z.infer<typeof SessionResponse>

/** The password is held to the password policy (password-policy.ts), the user name rule included. */
export const OperatorCreateRequest = z
  .strictObject({
    username: z.string().regex(OPERATOR_NAME_PATTERN, 'lower-case letters, digits, dot, dash, underscore; 3–64 characters'),
    password: NewPassword,
    role: Role,
  })
  .superRefine(refinePasswordNotUsername)
export type OperatorCreateRequest = z.infer<typeof OperatorCreateRequest>

export const OperatorView = z.object({
  username: z.string(),
  role: Role,
  disabled: z.boolean(),
  createdAt: z.number().int(),
  lastSignInAt: z.number().int().nullable(),
})
export type OperatorView = z.infer<typeof OperatorView>

export const OperatorNamePath = z.object({ username: z.string().regex(OPERATOR_NAME_PATTERN) })

export const AuditAction = z.enum([
  'sign-in',
  'sign-in-failed',
  'sign-out',
  'acknowledge',
  'operator-create',
  'operator-disable',
  'operator-enable',
  'operator-role',
  'operator-password',
  'password-change',
  'device-create',
  'device-rotate',
  'device-disable',
  'device-enable',
  'device-move',
  'device-import',
  'dead-letter-redrive',
  'agency-key-create',
  'agency-key-revoke',
  'device-publish',
])
export type AuditAction = z.infer<typeof AuditAction>

export const AuditEntry = z.object({
  id: z.number().int(),
  /** Epoch ms. */
  ts: z.number().int(),
  /**
   * Operator name; for a failed sign-in, the name that was tried; without a session (AUTH_DISABLED) `anonymous@ADDRESS`
   * (actors.ts), the name that caller gave then in `detail.claimedBy`.
   */
  actor: z.string(),
  action: AuditAction,
  target: z.string().nullable(),
  detail: z.unknown(),
  ip: z.string().nullable(),
})
export type AuditEntry = z.infer<typeof AuditEntry>

const auditTime = z.coerce.number().int().min(0)

export const AuditListParams = z
  .object({
    /** Most entries, newest first. Default 100. */
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    /** Only entries with a smaller id: the last id of the page before (paging back). */
    before: z.coerce.number().int().min(1).optional().describe('cursor: only entries with a smaller id (the last id of the previous page)'),
    actor: z.string().min(1).max(128).optional(),
    action: AuditAction.optional(),
    from: auditTime.optional().describe('written at or after, UTC ms'),
    to: auditTime.optional().describe('written before, UTC ms'),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { path: ['to'], message: 'must be after from' })
export type AuditListParams = z.infer<typeof AuditListParams>

/** POST /operators/{username}/role. */
export const OperatorRoleRequest = z.strictObject({ role: Role })

/** POST /operators/{username}/password (an admin sets it): the policy, the user name rule checked against the path's name. */
export const OperatorPasswordRequest = z.strictObject({ password: NewPassword })

/** POST /auth/password: the signed-in operator's own; `current` proves it is them at the keyboard. */
export const PasswordChangeRequest = z.strictObject({ current: z.string().min(1).max(1024), password: NewPassword })

export const ProvisionedDeviceView = DeviceRecord.and(z.object({ disabled: z.boolean(), hasSecret: z.boolean() }))

/** The secret is in this response only: the store keeps its scrypt hash. */
export const DeviceSecretResponse = z.object({ deviceId: z.string(), secret: z.string() })

export const ImportReport = z.object({
  format: z.enum(['csv', 'geojson']),
  /** Rows (CSV: data rows from 1; GeoJSON: features from 1) looked at. */
  total: z.number().int(),
  created: z.array(DeviceSecretResponse),
  failed: z.array(z.object({ row: z.number().int(), id: z.string().optional(), errors: z.array(z.string()) })),
})
export type ImportReport = z.infer<typeof ImportReport>

/** GET /auth/me: who is calling. role null means the map must show its sign-in page. */
export const MeResponse = z.object({
  signedIn: z.boolean(),
  username: z.string().nullable(),
  role: Role.nullable(),
  /** Echo in X-CSRF-Token on every POST while signed in. */
  csrfToken: z.string().nullable(),
  expiresAt: z.number().int().nullable(),
})
export type MeResponse = z.infer<typeof MeResponse>
