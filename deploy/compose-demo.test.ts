import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { brokerEnv } from '@mytho/broker'
import { demoSecretsPath, parseEnv } from '@mytho/runtime'
import { makeTempDir } from '@mytho/testing'
import { bundlePath, SERVER_ENTRIES } from './build-server.ts'

/*
 * Profile "demo" (issue #19, finding 6): the simulator plays the seed fleet with the secrets in
 * DATA_DIR/secrets/demo-secrets.json. The broker generates them only with SEED_DEMO_SECRETS=true, which compose leaves
 * false (a city's devices are provisioned by an admin), so the demo profile has its own one-shot `demo-seed` (the
 * broker's seeding code as a bundle, run against the running broker's store: deploy/server-build.test.ts), which the
 * simulator waits for and no service outside the profile ever starts. A demo whose seeding did nothing must still not
 * look healthy: the simulator's health check is that file, run here as Docker would run it (`node -e`), against a
 * stand-in for the data volume.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
interface Service {
  profiles?: string[]
  command?: string[]
  restart?: string
  depends_on?: Record<string, { condition: string }>
  environment?: Record<string, string>
  secrets?: string[]
  volumes?: string[]
  healthcheck?: { test: string[] }
  read_only?: boolean
  cap_drop?: string[]
  security_opt?: string[]
}
const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8'), { merge: true }) as { services: Record<string, Service> }
const simulator = compose.services['simulator']!
const broker = compose.services['broker']!
const seed = compose.services['demo-seed']!

const tmp = makeTempDir('mytho-compose-demo-')
afterAll(() => tmp.cleanup())

/** The health check's command, with the volume's /data standing at `dataDir`; its exit code. */
function runHealthcheck(dataDir: string): number | null {
  const [kind, node, flag, script] = simulator.healthcheck!.test
  expect([kind, node, flag]).toEqual(['CMD', 'node', '-e'])
  const r = spawnSync(process.execPath, ['-e', script!.replaceAll('/data/', `${dataDir}/`)], { encoding: 'utf8' })
  return r.status
}

describe('docker compose --profile demo: the simulator and its secrets', () => {
  it('reads the secrets from the volume the broker writes them to', () => {
    expect(simulator.profiles).toEqual(['demo'])
    expect(simulator.environment!['DATA_DIR']).toBe('/data')
    expect(broker.environment!['DATA_DIR']).toBe('/data')
    const volumeAt = (s: Service) => s.volumes!.find((v) => v.endsWith(':/data'))
    expect(volumeAt(simulator)).toBe(volumeAt(broker))
    // The default the comment and the health check are about.
    expect(broker.environment!['SEED_DEMO_SECRETS']).toMatch(/^\$\{SEED_DEMO_SECRETS:-false\}$/)
    expect(simulator.healthcheck?.test.join(' ')).toContain(demoSecretsPath('/data'))
  })

  it('is unhealthy without the seed fleet secrets (SEED_DEMO_SECRETS=false), healthy once the broker wrote them', () => {
    const dataDir = join(tmp.path, 'data')
    mkdirSync(join(dataDir, 'secrets'), { recursive: true })
    expect(runHealthcheck(dataDir)).toBe(1)
    // What the broker writes with SEED_DEMO_SECRETS=false and service passwords from secrets: no device at all.
    writeFileSync(demoSecretsPath(dataDir), JSON.stringify({ devices: {}, services: {} }))
    expect(runHealthcheck(dataDir)).toBe(1)
    writeFileSync(demoSecretsPath(dataDir), JSON.stringify({ devices: { 'wl-bao-dinh-mouth': 'a-generated-secret' }, services: {} }))
    expect(runHealthcheck(dataDir)).toBe(0)
  })
})

describe('docker compose --profile demo: demo-seed gives the seed fleet its secrets, the production default untouched', () => {
  it('runs once, in profile demo only, after the broker is healthy; the simulator starts only once it succeeded', () => {
    expect(seed.profiles).toEqual(['demo'])
    // the broker's seeding code, built by npm run build:server
    const entry = SERVER_ENTRIES.find((e) => bundlePath(e) === seed.command!.at(-1))
    expect(entry, seed.command!.join(' ')).toMatchObject({ workspace: 'broker', source: 'src/seed-demo.ts' })
    expect(seed.command).toEqual(['node', '--enable-source-maps', bundlePath(entry!)])
    // a one-shot: restarted, it would run for ever
    expect(seed.restart).toBe('no')
    expect(seed.depends_on).toEqual({ broker: { condition: 'service_healthy' } })
    expect(simulator.depends_on?.['demo-seed']).toEqual({ condition: 'service_completed_successfully' })
  })

  it('writes where the broker and the simulator read: the same data volume and credential store', () => {
    const volumeAt = (s: Service) => s.volumes!.find((v) => v.endsWith(':/data'))
    expect(volumeAt(seed)).toBe(volumeAt(broker))
    expect(seed.environment!['DATA_DIR']).toBe(broker.environment!['DATA_DIR'])
    // profile scale too: the credentials are in Redis then, and it reads the same secrets/redis_url
    expect(seed.environment!['REDIS_URL_FILE']).toBe(broker.environment!['REDIS_URL_FILE'])
    expect(seed.secrets).toEqual(['redis_url'])
    expect(broker.secrets).toContain('redis_url')
    // every variable it is given is one the broker's schema reads (NAME_FILE as NAME)
    const names = Object.keys(seed.environment!).map((k) => k.replace(/_FILE$/, ''))
    expect(names.filter((k) => !(k in brokerEnv.shape))).toEqual([])
    expect(() => parseEnv(brokerEnv, { ...seed.environment!, REDIS_URL_FILE: undefined, LOG_LEVEL: 'info' })).not.toThrow()
    // the platform's hardening, as every service of the image
    expect(seed.read_only).toBe(true)
    expect(seed.cap_drop).toEqual(['ALL'])
    expect(seed.security_opt).toContain('no-new-privileges:true')
  })

  it('never in the default profile: no service there needs it, and the broker still seeds nothing by default', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.profiles?.includes('demo')) continue
      expect(Object.keys(s.depends_on ?? {}), name).not.toContain('demo-seed')
      expect(s.command?.join(' ') ?? '', name).not.toContain('seed-demo')
    }
    // nor does it turn the broker's seeding on for anyone
    expect(JSON.stringify(seed.environment)).not.toContain('SEED_DEMO_SECRETS')
    expect(broker.environment!['SEED_DEMO_SECRETS']).toMatch(/^\$\{SEED_DEMO_SECRETS:-false\}$/)
  })
})
