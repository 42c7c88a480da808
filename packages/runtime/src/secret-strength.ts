/**
 * Machine secrets (service-account passwords, tokens, signing secrets) set by whoever installs the platform. A value
 * copied from `.env.example` or typed by hand to get past a required variable would reach a city as it is, so a start
 * refuses it. Human passwords of operators have their own policy (packages/schema/src/password-policy.ts): this one
 * is stricter on length, since nobody types these.
 */

/** Every secret value `.env.example` ships (deploy/secret-placeholders.test.ts keeps the two in step). */
export const PLACEHOLDER_SECRETS: readonly string[] = [
  'change-me-long-random',
  'change-me-long-random-token',
  'change-me-ingest',
  'change-me-api',
  'change-me-admin-password',
]

/** Words that mark a value as a stand-in, wherever they appear in it. */
const PLACEHOLDER_MARKS = ['change-me', 'changeme', 'change_me', 'replace-me', 'replaceme', 'your-secret', 'yoursecret', 'example', 'xxxxxx']

export const MIN_SECRET_LENGTH = 16
const MIN_DISTINCT_CHARACTERS = 8

export const HOW_TO_GENERATE = 'generate one with: openssl rand -base64 32'

/** A value copied from an example rather than chosen (also for human passwords such as ADMIN_PASSWORD). */
export function isPlaceholder(value: string): boolean {
  const lower = value.toLowerCase()
  return PLACEHOLDER_SECRETS.includes(value) || PLACEHOLDER_MARKS.some((m) => lower.includes(m))
}

/** Why a secret is not fit for a city, or undefined. The answer never contains the value. */
export function secretProblem(value: string): string | undefined {
  if (isPlaceholder(value)) return `is a placeholder; ${HOW_TO_GENERATE}`
  if (value.length < MIN_SECRET_LENGTH) return `is shorter than ${MIN_SECRET_LENGTH} characters; ${HOW_TO_GENERATE}`
  if (new Set(value).size < MIN_DISTINCT_CHARACTERS) return `has fewer than ${MIN_DISTINCT_CHARACTERS} different characters; ${HOW_TO_GENERATE}`
  if (isRun(value)) return `is a run of consecutive characters; ${HOW_TO_GENERATE}`
  return undefined
}

/** `0123456789abcdef…`, `zyxw…`, `13579…`: most steps between neighbouring characters the same. */
function isRun(value: string): boolean {
  let same = 0
  for (let i = 2; i < value.length; i++) if (value.charCodeAt(i) - value.charCodeAt(i - 1) === value.charCodeAt(i - 1) - value.charCodeAt(i - 2)) same++
  return same >= (value.length - 2) * 0.8
}

/** The password in a URL's user-info (`redis://:pw@host`), if any. */
export function passwordInUrl(url: string): string | undefined {
  try {
    const p = new URL(url).password
    return p === '' ? undefined : decodeURIComponent(p)
  } catch {
    return undefined
  }
}

/** A URL fit for a log line: user-info replaced, so a password in REDIS_URL or MQTT_URL never reaches a log. */
export function redactUrl(url: string): string {
  // Each entry of a comma-separated list too (MQTT_URL of a cluster).
  return url.replace(/(^|,)(\s*[a-z][a-z0-9+.-]*:\/\/)[^@/,]*@/gi, '$1$2***@')
}
