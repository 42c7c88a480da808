import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { z } from 'zod'
import { passwordInUrl, secretProblem } from './secret-strength.ts'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Parses environment variables once, at start. Empty strings count as unset (docker-compose passes
 * `VAR=` for blanks). One error lists every bad variable by name, so a deploy is fixed in one go.
 * Every variable may instead name a file holding its value, `NAME_FILE` (Docker and compose secrets mount them
 * under /run/secrets), read here; a trailing newline is dropped.
 * An error names the variable and the rule it breaks, never the value: a value may be a secret, or hold one (a
 * password inside a URL), and start errors end up in logs.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  const cleaned: Record<string, string> = {}
  const fileErrors: string[] = []
  for (const key of Object.keys(schema.shape)) {
    const v = env[key]
    const file = env[`${key}_FILE`]
    const hasValue = v !== undefined && v.trim() !== ''
    if (file !== undefined && file.trim() !== '') {
      if (hasValue) {
        fileErrors.push(`  ${key}: set ${key} or ${key}_FILE, not both`)
        continue
      }
      try {
        const text = readFileSync(file.trim(), 'utf8').replace(/\r?\n$/, '')
        if (text.trim() !== '') cleaned[key] = text.trim()
      } catch (err) {
        fileErrors.push(`  ${key}_FILE: cannot read the file it names (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
      }
      continue
    }
    if (hasValue) cleaned[key] = v.trim()
  }
  const result = schema.safeParse(cleaned)
  if (result.success && fileErrors.length === 0) return result.data
  const lines = [...fileErrors, ...(result.success ? [] : result.error.issues.map((i) => `  ${String(i.path[0] ?? '(env)')}: ${i.message}`))]
  throw new ConfigError(`invalid environment:\n${lines.join('\n')}`, result.success ? {} : { cause: result.error })
}

/** Reusable env field types. Every option states its unit and default where it is declared. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback),
  optionalPort: () => z.coerce.number().int().min(0).max(65_535).optional(),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { message: 'expected true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => ['true', '1', 'yes', 'on'].includes(v)),
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(fallback),
  url: () => z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).optional(),
  redisUrl: () =>
    z
      .url({ protocol: /^rediss?$/, message: 'expected a redis:// or rediss:// URL' })
      .superRefine((v, ctx) => {
        const password = passwordInUrl(v)
        const problem = password === undefined ? undefined : secretProblem(password)
        if (problem) ctx.addIssue({ code: 'custom', message: `the password in it ${problem}` })
      })
      .optional(),
  /**
   * A machine secret (service password, token, signing secret): a placeholder, a short or guessable value stops the
   * start (secret-strength.ts). Optional: where a secret is required, the service says so itself.
   */
  secret: () =>
    z
      .string()
      .superRefine((v, ctx) => {
        const problem = secretProblem(v)
        if (problem) ctx.addIssue({ code: 'custom', message: problem })
      })
      .optional(),
  /**
   * One MQTT broker address or a comma-separated list (the nodes of a broker cluster): a client tries them in order
   * and moves to the next at each reconnect. Kept a string (entries trimmed), split with `urlList`, so code that
   * hands one address to a service in-process needs no change.
   */
  mqttUrls: (fallback: string) =>
    z
      .string()
      .superRefine((v, ctx) => {
        for (const entry of v.split(',').map((e) => e.trim()))
          if (!/^(mqtt|tcp):\/\/[^/,\s]+$/.test(entry)) ctx.addIssue({ code: 'custom', message: 'expected mqtt://host:port or a comma-separated list of them' })
      })
      .transform((v) => urlList(v).join(','))
      .default(fallback),
  logLevel: () => z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
}

/** The addresses of a comma-separated list (as `env.mqttUrls` accepts), or a list as given. */
export function urlList(v: string | readonly string[]): string[] {
  return (typeof v === 'string' ? v.split(',') : [...v]).map((e) => e.trim()).filter((e) => e !== '')
}

/** Variables every service shares; each service extends this with its own. */
export const commonEnv = z.object({
  /**
   * Where SQLite files, dead letters and generated demo secrets live. Default ./data. A relative path is
   * taken from where `npm` was invoked (INIT_CWD), so `npm start -w broker` and `npm start -w ingest`
   * run from the repo root share one folder instead of each getting its own under its workspace.
   */
  DATA_DIR: z
    .string()
    .default('./data')
    .transform((p) => resolve(process.env['INIT_CWD'] ?? process.cwd(), p)),
  LOG_LEVEL: env.logLevel(),
  /** When set, InfluxDB (v1-compatible HTTP API) stores readings instead of SQLite. */
  INFLUX_URL: env.url(),
  /** InfluxDB database (1.x) or bucket mapped through DBRP (2.x/3.x). Default mytho. */
  INFLUX_DB: z.string().default('mytho'),
  /** 2.x/3.x token (sent as `Authorization: Token …`); leave unset for 1.x without auth. */
  INFLUX_TOKEN: env.secret(),
  INFLUX_USERNAME: z.string().optional(),
  INFLUX_PASSWORD: env.secret(),
  /** Days raw readings are kept; 0 = forever. Default 90. Older history is served from the roll-ups. */
  RETENTION_RAW_DAYS: env.int(90),
  /** Days the 5-minute roll-ups (sum/min/max/count per device and metric) are kept; 0 = forever. Default 730. */
  RETENTION_5M_DAYS: env.int(730),
  /** Days the hourly roll-ups are kept; 0 = forever (the default). */
  RETENTION_1H_DAYS: env.int(0),
  /** Serve Prometheus /metrics on this port (its own listener, kept off the public ports). Unset: no metrics server. */
  METRICS_PORT: env.optionalPort(),
  /**
   * Address the metrics server listens on. Default 127.0.0.1: /metrics and /health tell a stranger what runs and how
   * busy it is; compose sets 0.0.0.0 so Prometheus and the health checks reach it on the internal network only.
   */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
})
export type CommonEnv = z.infer<typeof commonEnv>
