import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { ConfigError, newSecret, type Logger } from '@mytho/runtime'
import { passwordProblem } from '@mytho/schema'
import type { OperatorStore } from '@mytho/directory'

export const demoAdminPath = (dataDir: string): string => join(dataDir, 'secrets', 'demo-admin.json')

/** A generated operator password (24 random base64url characters), drawn again in the rare case it breaks the password policy. */
export function newOperatorPassword(username: string): string {
  for (;;) {
    const password = newSecret()
    if (passwordProblem(password, username) === undefined) return password
  }
}

export interface FirstAdminOptions {
  dataDir: string
  username: string
  /** ADMIN_PASSWORD: used once, when there is no operator yet. */
  password: string | undefined
  /** Demo start (npm start): with no ADMIN_PASSWORD, generate one into DATA_DIR/secrets/demo-admin.json. */
  demo: boolean
}

/**
 * The first admin, created at the first start only (an operator table with anyone in it is left alone):
 * from ADMIN_USERNAME/ADMIN_PASSWORD, or in a demo start with a generated password written next to the
 * demo device secrets (mode 0600). A production start without either has no operator and says how to
 * make one; there is never a default password. API nodes starting at once may each find no operator; create
 * is create-if-absent, so one of them makes the admin and the others say so and leave it.
 */
export async function ensureFirstAdmin(store: OperatorStore, o: FirstAdminOptions, logger: Logger, now: number): Promise<{ created: boolean; file?: string }> {
  if ((await store.count()) > 0) return { created: false }
  const lost = () => {
    logger.info('first admin was created by another node starting at the same time', { username: o.username })
    return { created: false }
  }
  if (o.password !== undefined) {
    // The password policy (@mytho/schema password-policy.ts) holds for the first admin too. The message names the
    // variable and the rule, never the value (it would land in logs).
    const problem = passwordProblem(o.password, o.username)
    if (problem !== undefined) throw new ConfigError(`invalid environment:\n  ADMIN_PASSWORD: ${problem}`)
    if (!(await store.create(o.username, o.password, 'admin', now))) return lost()
    await store.audit({ actor: 'system', action: 'operator-create', target: o.username, detail: { role: 'admin', from: 'ADMIN_PASSWORD' } }, now)
    logger.info('first admin created from ADMIN_USERNAME/ADMIN_PASSWORD', { username: o.username })
    return { created: true }
  }
  if (!o.demo) {
    logger.warn('no operator exists: set ADMIN_USERNAME and ADMIN_PASSWORD for the first start, or run `npm run create-operator -w @mytho/api -- <name> admin`')
    return { created: false }
  }
  const file = demoAdminPath(o.dataDir)
  let password: string
  try {
    password = (JSON.parse(readFileSync(file, 'utf8')) as { password: string }).password
  } catch {
    password = newOperatorPassword(o.username)
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    writeFileSync(file, JSON.stringify({ username: o.username, password }, null, 2), { mode: 0o600 })
  }
  if (!(await store.create(o.username, password, 'admin', now))) return lost()
  await store.audit({ actor: 'system', action: 'operator-create', target: o.username, detail: { role: 'admin', from: 'demo' } }, now)
  logger.warn('demo admin created; its password is in the file', { username: o.username, file })
  return { created: true, file }
}
