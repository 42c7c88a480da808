import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/** System programs the integration tests run, and the Debian package that brings each one. */
export const requiredTools = [
  { bin: 'influxd', pkg: 'influxdb' },
  { bin: 'mosquitto_pub', pkg: 'mosquitto-clients' },
  { bin: 'chromium', pkg: 'chromium' },
  { bin: 'redis-server', pkg: 'redis-server' },
  { bin: 'promtool', pkg: 'prometheus' },
  { bin: 'caddy', pkg: 'caddy' },
] as const

export function which(bin: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const p = join(dir, bin)
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {}
  }
  return undefined
}

/** Throws, naming the exact install command, when a tool the tests need is missing. Never a silent skip. */
export function assertSystemTools(tools: readonly { bin: string; pkg: string }[] = requiredTools): void {
  const missing = tools.filter((t) => which(t.bin) === undefined)
  if (missing.length === 0) return
  throw new Error(
    `missing system programs the tests need: ${missing.map((t) => t.bin).join(', ')}\n` +
      `install them with:\n  apt-get update && apt-get install -y ${[...new Set(missing.map((t) => t.pkg))].join(' ')}`,
  )
}
