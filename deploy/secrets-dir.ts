import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const MAKE_SECRETS = fileURLToPath(new URL('make-secrets.sh', import.meta.url))

/**
 * ./secrets as deploy/make-secrets.sh makes it for an operator, in a temp dir (the tests read the compose file as
 * deployed, so its services' NAME_FILE=/run/secrets/name must resolve to what the script writes). `--cluster`:
 * redis_url filled too. `remove()` deletes it.
 */
export function makeSecretsDir(opts: { cluster?: boolean; mqttNames?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mytho-secrets-'))
  execFileSync('sh', [MAKE_SECRETS, ...(opts.cluster ? ['--cluster'] : []), dir], {
    stdio: 'pipe',
    env: { ...process.env, MQTT_TLS_NAMES: opts.mqttNames ?? 'localhost,127.0.0.1' },
  })
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * Where a compose service finds a secret (`/run/secrets/<name>`) on this host: the file compose's top-level
 * `secrets:` names for it, with its ./secrets/ under `dir`. Other values are returned as they are.
 */
export function secretOnHost(value: string, secrets: Record<string, { file?: string }>, dir: string): string {
  const m = /^\/run\/secrets\/([a-z0-9_-]+)$/.exec(value)
  const file = m ? secrets[m[1]!]?.file : undefined
  if (!m) return value
  if (file === undefined || !file.startsWith('./secrets/')) throw new Error(`${value}: no top-level secret ${m[1]} with a file under ./secrets/`)
  return join(dir, file.slice('./secrets/'.length))
}
