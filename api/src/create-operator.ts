/*
 * CLI: create an operator (the first admin of a production install, say).
 *   npm run create-operator -w @mytho/api -- <username> <viewer|operator|admin>
 * The password comes from OPERATOR_PASSWORD, or is generated and printed once; either way it is held to the
 * password policy (@mytho/schema password-policy.ts), and a refusal names the rule, never the password.
 */
import { metaStoreWhere, openOperatorStoreFromConfig } from '@mytho/directory'
import { configOrExit, privateUmask } from '@mytho/runtime'
import { OperatorCreateRequest } from '@mytho/schema'
import { newOperatorPassword } from './auth/first-admin.ts'
import { loadApiConfig } from './config.ts'

// A first install's DATA_DIR/meta.sqlite is created here: its files are this user's alone (0600), as the services'.
privateUmask()
const config = configOrExit('create-operator', () => loadApiConfig())
const [username, role] = process.argv.slice(2)
const generated = process.env['OPERATOR_PASSWORD'] === undefined || process.env['OPERATOR_PASSWORD'] === ''
const parsed = OperatorCreateRequest.safeParse({ username, role, password: generated ? newOperatorPassword(username ?? '') : process.env['OPERATOR_PASSWORD'] })
if (!parsed.success) {
  const where = (path: PropertyKey[]) => (path[0] === 'password' && !generated ? 'OPERATOR_PASSWORD' : path.map(String).join('.') || '(input)')
  const problems = parsed.error.issues.map((i) => `  ${where(i.path)}: ${i.message}`).join('\n')
  process.stderr.write(`usage: create-operator <username> <viewer|operator|admin> (password from OPERATOR_PASSWORD, else generated)\n${problems}\n`)
  process.exit(2)
}
// With REDIS_URL, into the cluster's Redis, where the API nodes look for operators.
const store = openOperatorStoreFromConfig(config)
const where = metaStoreWhere(config)
try {
  if (!(await store.create(parsed.data.username, parsed.data.password, parsed.data.role, Date.now()))) {
    process.stderr.write(`operator ${parsed.data.username} exists\n`)
    process.exitCode = 1
  } else {
    await store.audit({ actor: 'cli', action: 'operator-create', target: parsed.data.username, detail: { role: parsed.data.role } }, Date.now())
    process.stdout.write(
      `operator ${parsed.data.username} (${parsed.data.role}) created in ${where}${generated ? `\npassword (shown once): ${parsed.data.password}` : ''}\n`,
    )
  }
} finally {
  await store.close()
}
