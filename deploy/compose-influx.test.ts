import { execFileSync } from 'node:child_process'
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'

/*
 * InfluxDB 2.x in compose (issue #19, finding 1): deploy/influxdb/init.sh makes the raw and roll-up buckets with their
 * retention, the DBRP mappings the services' v1 API uses, and a token per service; the compose file wires them. No
 * Docker engine here, so the file is read and init.sh runs against a stand-in `influx` CLI that accepts only the flags
 * of the influx CLI reference (docs.influxdata.com/influxdb/v2/reference/cli/influx/: bucket list/create/update, v1
 * dbrp list/create, auth create) and keeps what they make.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const INIT = join(root, 'deploy/influxdb/init.sh')
interface Service {
  environment?: Record<string, string>
  volumes?: string[]
  secrets?: string[]
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
  secrets: Record<string, { file?: string }>
}
const influxdb = compose.services['influxdb']!
/** ${VAR:-default} as compose resolves it with nothing set in .env. */
const byDefault = (v: string) => String(v).replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1')
const env = (s: Service) => Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, byDefault(v)]))

/** The bind mount of `target` in the influxdb service: its host path. */
const boundAt = (target: string) =>
  influxdb.volumes
    ?.map((v) => v.split(':'))
    .find((parts) => parts[1] === target)
    ?.at(0)

describe('InfluxDB 2.x in docker-compose.yml', () => {
  it('runs deploy/influxdb/init.sh on first setup: executable, a .sh the image runs, bash -n clean', () => {
    expect(boundAt('/docker-entrypoint-initdb.d/init.sh')).toBe('./deploy/influxdb/init.sh')
    // The image runs `run-parts --regex '.*sh$'` over executable files of that folder.
    expect(() => accessSync(INIT, constants.X_OK)).not.toThrow()
    expect(statSync(INIT).mode & 0o111).toBe(0o111)
    expect(() => execFileSync('bash', ['-n', INIT], { stdio: 'pipe' })).not.toThrow()
  })

  it('the admin’s password and token are Docker secrets, and no service is handed the admin token', () => {
    const e = influxdb.environment!
    expect(e['DOCKER_INFLUXDB_INIT_PASSWORD_FILE']).toBe('/run/secrets/influx_admin_password')
    expect(e['DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE']).toBe('/run/secrets/influx_admin_token')
    expect(e['DOCKER_INFLUXDB_INIT_PASSWORD']).toBeUndefined()
    expect(e['DOCKER_INFLUXDB_INIT_ADMIN_TOKEN']).toBeUndefined()
    expect(influxdb.secrets).toEqual(expect.arrayContaining(['influx_admin_password', 'influx_admin_token']))
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.environment?.['INFLUX_TOKEN'], `${name} has a token in its environment`).toBeUndefined()
      if (name !== 'influxdb') expect(s.secrets ?? [], name).not.toContain('influx_admin_token')
    }
  })

  it.each([
    ['ingest', 'ingest'],
    ['ingest-2', 'ingest'],
    ['api', 'api'],
    ['api-2', 'api'],
  ])('%s reads its own token, the one init.sh writes for the %s', (name, who) => {
    const s = compose.services[name]!
    const e = env(s)
    const secret = /^\/run\/secrets\/([a-z0-9_]+)$/.exec(e['INFLUX_TOKEN_FILE'] ?? '')?.[1]
    expect(secret).toBe(`${who}_influx_token`)
    expect(s.secrets).toContain(secret)
    // init.sh writes MYTHO_INFLUX_TOKEN_DIR/<who>/token, which is the host file that secret is.
    expect(boundAt(`${env(influxdb)['MYTHO_INFLUX_TOKEN_DIR']}/${who}/token`)).toBe(compose.secrets[secret!]!.file)
    // …and no other service's
    const other = who === 'ingest' ? 'api_influx_token' : 'ingest_influx_token'
    expect(s.secrets).not.toContain(other)
    // The retention the services plan their reads by is the retention the buckets get.
    for (const grain of ['RAW', '5M', '1H']) expect(e[`RETENTION_${grain}_DAYS`], `${name} ${grain}`).toBe(env(influxdb)[`MYTHO_RETENTION_${grain}_DAYS`])
    expect(e['INFLUX_DB']).toBe(env(influxdb)['DOCKER_INFLUXDB_INIT_BUCKET'])
  })
})

/*
 * The stand-in influx CLI: state in a JSON file (buckets, DBRP mappings, tokens), every call logged; a flag the CLI
 * reference does not list for that command fails the call, as the real one does.
 */
const FAKE_INFLUX = `
const fs = require('node:fs')
const [state, log] = [process.env.FAKE_STATE, process.env.FAKE_LOG]
const args = process.argv.slice(2)
fs.appendFileSync(log, JSON.stringify(args) + '\\n')
const db = fs.existsSync(state) ? JSON.parse(fs.readFileSync(state, 'utf8')) : { buckets: [], dbrps: [], auths: [] }
const allowed = {
  'bucket list': ['--org', '--name', '--hide-headers'],
  'bucket create': ['--org', '--name', '--retention'],
  'bucket update': ['--id', '--retention'],
  'v1 dbrp list': ['--org', '--db', '--rp', '--hide-headers'],
  'v1 dbrp create': ['--org', '--db', '--rp', '--bucket-id', '--default'],
  'auth create': ['--org', '--description', '--write-bucket', '--read-bucket', '--json'],
}
const cmd = args[0] === 'v1' ? args.slice(0, 3).join(' ') : args.slice(0, 2).join(' ')
const rest = args.slice(cmd.split(' ').length)
if (!allowed[cmd]) { console.error('unknown command ' + cmd); process.exit(1) }
const flags = {}
for (let i = 0; i < rest.length; i++) {
  const f = rest[i]
  if (!allowed[cmd].includes(f)) { console.error('unknown flag ' + f); process.exit(1) }
  const boolean = ['--hide-headers', '--default', '--json'].includes(f)
  const v = boolean ? true : rest[++i]
  if (v === undefined) { console.error(f + ' needs a value'); process.exit(1) }
  flags[f] = f === '--write-bucket' || f === '--read-bucket' ? [...(flags[f] || []), v] : v
}
const save = () => fs.writeFileSync(state, JSON.stringify(db))
const id = () => Math.random().toString(16).slice(2, 18).padEnd(16, '0')
if (cmd === 'bucket list') {
  const b = db.buckets.find((b) => b.name === flags['--name'])
  if (!b) { console.error('Error: bucket "' + flags['--name'] + '" not found'); process.exit(1) }
  console.log([b.id, b.name, b.retention, '168h0m0s', 'org', 'implicit'].join('\\t'))
} else if (cmd === 'bucket create') {
  db.buckets.push({ id: id(), name: flags['--name'], retention: flags['--retention'], org: flags['--org'] }); save()
} else if (cmd === 'bucket update') {
  const b = db.buckets.find((b) => b.id === flags['--id']); if (!b) process.exit(1)
  b.retention = flags['--retention']; save()
} else if (cmd === 'v1 dbrp list') {
  for (const m of db.dbrps.filter((m) => m.db === flags['--db'] && m.rp === flags['--rp'])) console.log([m.id, m.db, m.rp, m.bucketId].join('\\t'))
} else if (cmd === 'v1 dbrp create') {
  db.dbrps.push({ id: id(), db: flags['--db'], rp: flags['--rp'], bucketId: flags['--bucket-id'], default: !!flags['--default'] }); save()
} else if (cmd === 'auth create') {
  const a = { id: id(), description: flags['--description'], token: 'tok_' + id() + '==', write: flags['--write-bucket'] || [], read: flags['--read-bucket'] || [] }
  db.auths.push(a); save()
  console.log(JSON.stringify({ id: a.id, description: a.description, token: a.token, status: 'active', permissions: [] }, null, '\\t'))
}
`

describe('deploy/influxdb/init.sh against the influx CLI', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'mytho-influx-init-'))
  afterAll(() => rmSync(tmp, { recursive: true, force: true }))
  const bin = join(tmp, 'bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'influx'), `#!${process.execPath}\n${FAKE_INFLUX}`, { mode: 0o755 })
  const tokens = join(tmp, 'tokens')
  const state = join(tmp, 'state.json')
  const log = join(tmp, 'calls.log')
  // The files compose binds there (make-secrets.sh makes them empty), as the image would have them.
  mkdirSync(join(tokens, 'ingest'), { recursive: true })
  mkdirSync(join(tokens, 'api'), { recursive: true })
  writeFileSync(join(tokens, 'ingest/token'), '')
  writeFileSync(join(tokens, 'api/token'), '')

  const run = () =>
    execFileSync('bash', [INIT], {
      stdio: 'pipe',
      env: {
        PATH: `${bin}:${process.env['PATH']}`,
        FAKE_STATE: state,
        FAKE_LOG: log,
        // as the image exports them, and as compose sets them
        DOCKER_INFLUXDB_INIT_ORG: env(influxdb)['DOCKER_INFLUXDB_INIT_ORG']!,
        DOCKER_INFLUXDB_INIT_BUCKET: env(influxdb)['DOCKER_INFLUXDB_INIT_BUCKET']!,
        MYTHO_RETENTION_RAW_DAYS: env(influxdb)['MYTHO_RETENTION_RAW_DAYS']!,
        MYTHO_RETENTION_5M_DAYS: env(influxdb)['MYTHO_RETENTION_5M_DAYS']!,
        MYTHO_RETENTION_1H_DAYS: env(influxdb)['MYTHO_RETENTION_1H_DAYS']!,
        MYTHO_INFLUX_TOKEN_DIR: tokens,
      },
    })
  const made = () =>
    JSON.parse(readFileSync(state, 'utf8')) as {
      buckets: { id: string; name: string; retention: string }[]
      dbrps: { db: string; rp: string; bucketId: string; default: boolean }[]
      auths: { token: string; write: string[]; read: string[] }[]
    }

  it('makes the buckets with their retention, the DBRP mappings and one token per service, each with only what it needs', () => {
    run()
    const { buckets, dbrps, auths } = made()
    const db = env(influxdb)['DOCKER_INFLUXDB_INIT_BUCKET']!
    expect(buckets.map((b) => [b.name, b.retention])).toEqual([
      [db, '90d'],
      [`${db}_5m`, '730d'],
      [`${db}_1h`, '0'],
    ])
    const idOf = (name: string) => buckets.find((b) => b.name === name)!.id
    // the names packages/storage/src/influx-store.ts reads and writes: database <db>, policies autogen, rp_5m, rp_1h
    expect(dbrps.map((m) => [m.db, m.rp, m.bucketId, m.default])).toEqual([
      [db, 'autogen', idOf(db), true],
      [db, 'rp_5m', idOf(`${db}_5m`), false],
      [db, 'rp_1h', idOf(`${db}_1h`), false],
    ])
    const all = buckets.map((b) => b.id).sort()
    const ingest = auths.find((a) => a.token === readFileSync(join(tokens, 'ingest/token'), 'utf8'))!
    const api = auths.find((a) => a.token === readFileSync(join(tokens, 'api/token'), 'utf8'))!
    expect(auths).toHaveLength(2)
    // The ingest writes readings and roll-ups, and reads what computing the roll-ups needs.
    expect([...ingest.write].sort()).toEqual(all)
    expect([...ingest.read].sort()).toEqual(all)
    // The API only reads.
    expect(api.write).toEqual([])
    expect([...api.read].sort()).toEqual(all)
    expect(statSync(join(tokens, 'api/token')).mode & 0o777).toBe(0o444)
  })

  it('run again (an existing server): nothing made twice, the tokens the services hold are kept, retention updated', () => {
    const before = { ingest: readFileSync(join(tokens, 'ingest/token'), 'utf8'), api: readFileSync(join(tokens, 'api/token'), 'utf8') }
    run()
    const { buckets, dbrps, auths } = made()
    expect(buckets).toHaveLength(3)
    expect(dbrps).toHaveLength(3)
    expect(auths).toHaveLength(2)
    expect(readFileSync(join(tokens, 'ingest/token'), 'utf8')).toBe(before.ingest)
    expect(readFileSync(join(tokens, 'api/token'), 'utf8')).toBe(before.api)
    expect(readFileSync(log, 'utf8')).toMatch(/\["bucket","update","--id","[0-9a-f]+","--retention","90d"\]/)
  })

  it('refuses a retention that is not a whole number of days', () => {
    expect(() =>
      execFileSync('bash', [INIT], {
        stdio: 'pipe',
        env: { PATH: `${bin}:${process.env['PATH']}`, DOCKER_INFLUXDB_INIT_ORG: 'o', DOCKER_INFLUXDB_INIT_BUCKET: 'b', MYTHO_RETENTION_RAW_DAYS: '90 days' },
      }),
    ).toThrow(/whole numbers/)
  })
})
