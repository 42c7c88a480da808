import { type ChildProcessByStdio, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, posix, relative } from 'node:path'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { Metafile } from 'esbuild'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { parse } from 'yaml'
import { DemoSecrets } from '@mytho/runtime'
import { freePort, makeTempDir, waitFor } from '@mytho/testing'
import { buildServer, bundlePath, bundleWorkspace, SERVER_ENTRIES } from './build-server.ts'

/*
 * Issue #19, finding 4: the image ships compiled JavaScript and the files it reads, nothing else. No Docker engine
 * runs here, so the test builds the services (npm run build:server's code) into a temp folder, lays beside them what
 * the Dockerfile's final stage copies (its COPY lines read from the Dockerfile; node_modules as `npm ci --omit=dev`
 * leaves them, from package-lock.json) and starts each service with its docker-compose `command:` on Node without
 * tsx and without one .ts file in the folder: the broker takes a real MQTT.js device, the ingest stores the
 * simulator's readings and answers /health, the API answers /health and serves the built map.
 */
const root = fileURLToPath(new URL('..', import.meta.url))
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { command?: string[] }>
}
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean; link?: boolean }>
}

interface Copy {
  from: string | undefined
  sources: string[]
  dest: string
}
interface Stage {
  name: string | undefined
  base: string
  copies: Copy[]
  runs: string[]
  cmd: string | undefined
  text: string
}

/** The Dockerfile's stages, in order (continuation lines joined, comments dropped). */
function stages(): Stage[] {
  const out: Stage[] = []
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/)
    const args = rest.join(' ')
    if (op!.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!
      out.push({ name: m[2], base: m[1]!, copies: [], runs: [], cmd: undefined, text: '' })
      continue
    }
    const stage = out.at(-1)!
    stage.text += `${line}\n`
    if (op!.toUpperCase() === 'RUN') stage.runs.push(args)
    if (op!.toUpperCase() === 'CMD') stage.cmd = args
    if (op!.toUpperCase() === 'COPY') {
      const words = rest.filter((w) => !w.startsWith('--') || w.startsWith('--from='))
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length)
      const paths = words.filter((w) => !w.startsWith('--from='))
      stage.copies.push({ from, sources: paths.slice(0, -1), dest: paths.at(-1)! })
    }
  }
  return out
}

const all = stages()
const final = all.at(-1)!
const stageNamed = (name: string | undefined) => all.find((s) => s.name !== undefined && s.name === name)
/** What a stage took from the build context, through its base stages too. */
const contextSources = (s: Stage | undefined): string[] =>
  s === undefined ? [] : [...contextSources(stageNamed(s.base)), ...s.copies.filter((c) => c.from === undefined).flatMap((c) => c.sources)]
/** The paths a stage's `rm -rf` removes (relative to /app). */
const removed = (s: Stage): string[] => s.runs.flatMap((r) => [...r.matchAll(/rm -rf ([^&;]+)/g)].flatMap((m) => m[1]!.trim().split(/\s+/)))
const isManifest = (p: string) => p === 'package-lock.json' || posix.basename(p) === 'package.json'
const serverWorkspaces = [...new Set(SERVER_ENTRIES.map(bundleWorkspace))]
const inApp = (src: string) => src.replace(/^\/app\/?/, '').replace(/\/$/, '')

describe("the Dockerfile's final stage", () => {
  it('copies built JavaScript, the map, the seed fleet and production node_modules: no .ts, test, bench, packages/testing or tsx', () => {
    expect(final.base).toMatch(/^node:\d+/)
    // Nothing straight from the build context: everything comes built from a stage.
    expect(final.copies.filter((c) => c.from === undefined)).toEqual([])
    const allowed = new Set([...serverWorkspaces.map((w) => `${w}/dist`), 'web/dist', 'packages/schema/data', 'packages/schema/ngsi-ld'])
    for (const c of final.copies) {
      const from = stageNamed(c.from)
      expect(from, `COPY --from=${c.from}`).toBeDefined()
      for (const src of c.sources.map(inApp)) {
        expect(src, 'a path of the image').not.toMatch(/\.ts$|(^|\/)(src|test|bench)(\/|$)|packages\/testing/)
        if (src !== '') {
          expect(allowed, `COPY --from=${c.from} /app/${src}`).toContain(src)
          continue
        }
        // The whole /app of a stage: it must hold manifests and what `npm ci --omit=dev` installs, nothing else.
        expect(contextSources(from).filter((p) => !isManifest(p))).toEqual([])
        expect(from!.runs.join('\n')).toMatch(/npm ci --omit=dev/)
        expect(removed(from!)).toEqual(expect.arrayContaining(['packages/testing', 'node_modules/@mytho']))
      }
    }
    // Every bundle compose runs is in the image.
    const copied = final.copies.flatMap((c) => c.sources.map(inApp))
    for (const w of serverWorkspaces) expect(copied, `${w}/dist`).toContain(`${w}/dist`)
    expect(final.text).not.toMatch(/\btsx\b/)
    const cmd = JSON.parse(final.cmd!) as string[]
    expect(cmd[0]).toBe('node')
    expect(cmd).toContain('--enable-source-maps')
    expect(SERVER_ENTRIES.map(bundlePath)).toContain(cmd.at(-1))
  })

  it('is fed by a build stage that installs everything and runs build:web and build:server', () => {
    const build = all.find((s) => s.runs.some((r) => r.includes('npm run build:server')))
    expect(build?.runs.join('\n')).toMatch(/npm ci(?! --omit)/)
    expect(build?.runs.join('\n')).toContain('npm run build:web')
    expect(final.copies.some((c) => c.from === build?.name)).toBe(true)
  })
})

/** The package a bare specifier names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (spec: string) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/')
const isBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!)
/** Where Node finds a package from a folder (relative to the root, as package-lock.json names it), or undefined. */
function installedFrom(dir: string, pkg: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const key = relative(root, join(d, 'node_modules', pkg))
    if (lock.packages[key] !== undefined) return key
    if (d === root || d === dirname(d)) return undefined
  }
}

describe('npm run build:server, started as docker-compose starts it', { timeout: 120_000 }, () => {
  const image = makeTempDir('mytho-image-')
  const data = makeTempDir('mytho-image-data-')
  let metafile: Metafile

  beforeAll(async () => {
    ;({ metafile } = await buildServer(image.path))
    // The rest of the final stage, from its COPY lines: files from the build stage as the repo has them (web/dist is
    // `npm run build:web`'s), the manifests, and node_modules as `npm ci --omit=dev` lays them out (linked).
    for (const c of final.copies) {
      const from = stageNamed(c.from)!
      for (const src of c.sources.map(inApp)) {
        if (src === '') {
          const gone = removed(from)
          const keep = (p: string) => !gone.some((g) => p === g || p.startsWith(`${g}/`))
          for (const p of contextSources(from).filter(keep)) cpSync(join(root, p), join(image.path, p))
          for (const [key, entry] of Object.entries(lock.packages)) {
            // Top-level installs only (a package's own nested node_modules come with it), not dev, on this platform.
            const topLevel = /(^|\/)node_modules\/(@[^/]+\/)?[^/]+$/.test(key) && key.split('node_modules/').length === 2
            if (!topLevel || entry.dev || entry.link || !keep(key) || !existsSync(join(root, key))) continue
            mkdirSync(dirname(join(image.path, key)), { recursive: true })
            symlinkSync(join(root, key), join(image.path, key))
          }
        } else if (!serverWorkspaces.some((w) => src === `${w}/dist`)) {
          expect(existsSync(join(root, src)), `${src} (npm run build:web makes web/dist)`).toBe(true)
          cpSync(join(root, src), join(image.path, src), { recursive: true })
        }
      }
    }
  })
  afterAll(() => {
    image.cleanup()
    data.cleanup()
  })

  it('bundles only services and their workspace packages, every npm package external and the one the sources use', () => {
    const inputs = Object.keys(metafile.inputs)
    expect(inputs.length).toBeGreaterThan(100)
    const services = '(broker|ingest|api|devices-sim|platform|packages/(schema|runtime|storage|alerts|directory))'
    expect(inputs.filter((p) => !new RegExp(`^${services}/src/[\\w/.-]+\\.ts$`).test(p) || /\.test(-suite|-helpers)?\.ts$|\/(test|bench)\//.test(p))).toEqual(
      [],
    )

    for (const [out, output] of Object.entries(metafile.outputs)) {
      if (!out.endsWith('.js')) continue
      const bundle = relative(image.path, join(root, out))
      const externals = output.imports.filter((i) => i.external).map((i) => i.path)
      expect(
        externals.filter((p) => !/^[@a-z]/.test(p) || /^(tsx|@mytho\/)/.test(p)),
        bundle,
      ).toEqual([])
      // The sources map back: --enable-source-maps names the TypeScript line; the maps carry no source text.
      expect(
        readFileSync(join(root, out), 'utf8')
          .trimEnd()
          .endsWith(`//# sourceMappingURL=${posix.basename(out)}.map`),
      ).toBe(true)
      expect(JSON.parse(readFileSync(join(root, `${out}.map`), 'utf8')).sourcesContent).toBeUndefined()
    }
    // From its workspace's dist/, each import finds the very package the source file found (a workspace's own
    // node_modules included), and `npm ci --omit=dev` installs it.
    const entries = new Map(SERVER_ENTRIES.map((e) => [`${e.workspace}/${e.source}`, e]))
    for (const output of Object.values(metafile.outputs)) {
      const entry = output.entryPoint === undefined ? undefined : entries.get(output.entryPoint)
      if (!entry) continue
      const sources = Object.keys(output.inputs)
      for (const source of sources)
        for (const imp of metafile.inputs[source]!.imports.filter((i) => i.external && !isBuiltin(i.path))) {
          const pkg = packageOf(imp.path)
          const fromSource = installedFrom(join(root, dirname(source)), pkg)
          const fromBundle = installedFrom(join(root, bundleWorkspace(entry), 'dist'), pkg)
          expect(fromBundle, `${bundlePath(entry)}: ${imp.path} (imported by ${source})`).toBe(fromSource)
          expect(lock.packages[fromBundle!]?.dev, `${fromBundle} is a production dependency`).toBeUndefined()
        }
    }
  })

  it('the image folder holds no TypeScript, test, bench or packages/testing', () => {
    const found: string[] = []
    const visit = (rel: string) => {
      for (const name of readdirSync(join(image.path, rel))) {
        const p = rel === '' ? name : `${rel}/${name}`
        if (/\.ts$|^(test|bench|src)$/.test(name) || p === 'packages/testing') found.push(p)
        // node_modules are links into the checkout's install, left unread.
        if (lstatSync(join(image.path, p)).isDirectory()) visit(p)
      }
    }
    visit('')
    expect(found).toEqual([])
    for (const e of SERVER_ENTRIES) expect(existsSync(join(image.path, bundlePath(e))), bundlePath(e)).toBe(true)
  })

  it('broker (the ingest inside it), API and simulator run from the bundles with their compose commands and serve', async () => {
    const dataDir = join(data.path, 'data')
    const secrets = { INGEST_MQTT_PASSWORD: randomBytes(24).toString('base64url'), API_MQTT_PASSWORD: randomBytes(24).toString('base64url') }
    const production = { NODE_ENV: 'production', DATA_DIR: dataDir, LOG_LEVEL: 'info' }

    const metricsPort = await freePort()
    // Compose's default `broker`: the embedded bundle, broker and ingest in one process (issue #20).
    const broker = await start(
      'broker',
      { ...production, ...secrets, MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_WS_PORT: '0', SEED_DEMO_SECRETS: 'true', METRICS_PORT: String(metricsPort) },
      /broker\+ingest: MQTT mqtt:\/\/\S+:(\d+)\S*\s+WebSocket \S+\s+ingest embedded/,
    )
    const ingest = broker
    const mqttUrl = `mqtt://127.0.0.1:${broker.match[1]}`
    const demo = DemoSecrets.parse(JSON.parse(readFileSync(join(dataDir, 'secrets', 'demo-secrets.json'), 'utf8')))
    const [device, ...more] = Object.keys(demo.devices)
    // A device as installers configure it, before the simulator plays the fleet.
    const client = await mqtt.connectAsync(mqttUrl, { clientId: device!, username: device!, password: demo.devices[device!]!, reconnectPeriod: 0 })
    expect(client.connected).toBe(true)
    await client.endAsync()

    const api = await start(
      'api',
      {
        ...production,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        MQTT_URL: mqttUrl,
        API_MQTT_PASSWORD: secrets.API_MQTT_PASSWORD,
        ADMIN_PASSWORD: 'Tôm-càng-xanh-2026-Mỹ-Tho',
      },
      /api: map and API on http:\/\/\S+:(\d+)\//,
    )
    const sim = await start(
      'simulator',
      { ...production, MQTT_URL: mqttUrl, SIM_DEVICES: more.slice(0, 3).join(','), SIM_BACKFILL_HOURS: '1' },
      /"msg":"devices live"/,
    )

    const health = await fetch(`http://127.0.0.1:${metricsPort}/health`)
    expect(health.status, ingest.output()).toBe(200)
    // The simulator's readings crossed broker and ingest into storage, all from bundles.
    await waitFor(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
        return Number(/^mytho_ingest_readings_written_total\S* (\d+)/m.exec(text)?.[1] ?? 0) > 0
      },
      { timeoutMs: 30_000, what: 'readings written by the ingest' },
    )

    const web = `http://127.0.0.1:${api.match[1]}`
    const apiHealth = await fetch(`${web}/api/v1/health`)
    expect(apiHealth.status, api.output()).toBe(200)
    // The map the image holds (web/dist beside the bundle, found through the relocated import.meta.url).
    const page = await fetch(`${web}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toBe(readFileSync(join(image.path, 'web/dist/index.html'), 'utf8'))

    // Each stops cleanly on SIGTERM, as `docker compose stop` asks.
    for (const p of [sim, api, broker]) expect(await p.stop(), p.output()).toBe(0)
  })

  it("profile scale's separate topology runs from its bundles: the plain broker (MYTHO_BROKER_BUNDLE) and the ingest worker", async () => {
    const dataDir = join(data.path, 'scale')
    const secrets = { INGEST_MQTT_PASSWORD: randomBytes(24).toString('base64url'), API_MQTT_PASSWORD: randomBytes(24).toString('base64url') }
    const production = { NODE_ENV: 'production', DATA_DIR: dataDir, LOG_LEVEL: 'info' }
    const broker = await start(
      'broker',
      { ...production, ...secrets, MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_WS_PORT: 'off' },
      /broker: MQTT mqtt:\/\/\S+:(\d+)/,
      { MYTHO_BROKER_BUNDLE: 'broker/dist/main.js' },
    )
    const metricsPort = await freePort()
    const ingest = await start(
      'ingest',
      { ...production, MQTT_URL: `mqtt://127.0.0.1:${broker.match[1]}`, INGEST_MQTT_PASSWORD: secrets.INGEST_MQTT_PASSWORD, METRICS_PORT: String(metricsPort) },
      /"msg":"ingest subscribed"/,
    )
    expect((await fetch(`http://127.0.0.1:${metricsPort}/health`)).status, ingest.output()).toBe(200)
    for (const p of [ingest, broker]) expect(await p.stop(), p.output()).toBe(0)
  })

  it("the operators' CLI in the image (create-operator) runs from its bundle", async () => {
    const cli = SERVER_ENTRIES.find((e) => e.source === 'src/create-operator.ts')!
    const created = await run(
      'create-operator',
      ['--enable-source-maps', bundlePath(cli), 'truc-ban', 'operator'],
      {
        NODE_ENV: 'production',
        DATA_DIR: join(data.path, 'cli'),
        ADMIN_PASSWORD: 'Tôm-càng-xanh-2026-Mỹ-Tho',
        API_MQTT_PASSWORD: randomBytes(24).toString('base64url'),
        OPERATOR_PASSWORD: 'Bến-Tre-cầu-Rạch-Miễu-2026',
      },
      /operator truc-ban \(operator\) created/,
    )
    expect(await created.exit(), created.output()).toBe(0)
  })

  it("profile demo's one-shot demo-seed: the seed fleet's secrets into a running broker that seeds none, a device then heard", async () => {
    const dataDir = join(data.path, 'demo-seed')
    const passwords = { INGEST_MQTT_PASSWORD: randomBytes(24).toString('base64url'), API_MQTT_PASSWORD: randomBytes(24).toString('base64url') }
    const production = { NODE_ENV: 'production', DATA_DIR: dataDir, LOG_LEVEL: 'info' }
    // The broker as compose runs it (the ingest inside): SEED_DEMO_SECRETS=false, the service passwords from secrets.
    const broker = await start(
      'broker',
      { ...production, ...passwords, MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_WS_PORT: 'off', SEED_DEMO_SECRETS: 'false' },
      /broker\+ingest: MQTT mqtt:\/\/\S+:(\d+)/,
    )
    const mqttUrl = `mqtt://127.0.0.1:${broker.match[1]}`
    const device = 'wl-bao-dinh-mouth'
    const refused = await mqtt.connectAsync(mqttUrl, { clientId: device, username: device, password: 'no-secret-seeded-yet', reconnectPeriod: 0 }).then(
      (c) => c.endAsync().then(() => 0),
      (err: { code?: number }) => err.code,
    )
    expect(refused, 'a seed fleet device before demo-seed').toBeGreaterThan(0)

    const seed = await start('demo-seed', production, /seed-demo: demo secrets for (\d+) devices and (\d+) service accounts/)
    expect(await seed.exit(), seed.output()).toBe(0)
    // every seed fleet device, and no service account: the broker wrote theirs from its environment
    expect(Number(seed.match[1])).toBeGreaterThanOrEqual(40)
    expect(seed.match[2]).toBe('0')
    const demo = DemoSecrets.parse(JSON.parse(readFileSync(join(dataDir, 'secrets', 'demo-secrets.json'), 'utf8')))
    expect(Object.keys(demo.devices)).toHaveLength(Number(seed.match[1]))
    expect(demo.services).toEqual({})

    // The broker, not restarted, takes the seeded secret and acknowledges a QoS 1 reading.
    const client = await mqtt.connectAsync(mqttUrl, { clientId: device, username: device, password: demo.devices[device]!, reconnectPeriod: 0 })
    const pubacks: number[] = []
    client.on('packetreceive', (p) => void (p.cmd === 'puback' && p.messageId !== undefined && pubacks.push(p.messageId)))
    const sent = await client.publishAsync(`mytho/v1/devices/${device}/readings`, JSON.stringify({ kind: 'water_level', waterLevelCm: 120 }), { qos: 1 })
    expect(pubacks).toEqual([sent!.messageId])
    await client.endAsync()

    // Once more (`docker compose --profile demo up -d` again): nothing added, nobody's secret changed.
    const again = await start('demo-seed', production, /seed-demo: demo secrets for (\d+) devices/)
    expect(await again.exit(), again.output()).toBe(0)
    expect(again.match[1]).toBe('0')
    expect(JSON.parse(readFileSync(join(dataDir, 'secrets', 'demo-secrets.json'), 'utf8'))).toEqual(demo)
    expect(await broker.stop(), broker.output()).toBe(0)
  })

  it('a stack trace from a bundle names the TypeScript file and line (--enable-source-maps in the compose command)', async () => {
    const missing = join(data.path, 'missing')
    const broker = await start(
      'broker',
      {
        DATA_DIR: join(data.path, 'tls'),
        MQTT_HOST: '127.0.0.1',
        MQTT_PORT: '0',
        MQTT_WS_PORT: '0',
        MQTT_TLS_CERT: `${missing}.crt`,
        MQTT_TLS_KEY: `${missing}.key`,
      },
      /"msg":"broker failed to start"/,
      // The plain broker's bundle (profile scale): the embedded entry refuses a missing certificate before starting.
      { MYTHO_BROKER_BUNDLE: 'broker/dist/main.js' },
    )
    const failure = broker
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; err?: { stack?: string } })
      .find((l) => l.msg === 'broker failed to start')
    expect(failure?.err?.stack).toMatch(/\(\S*broker\/src\/broker\.ts:\d+:\d+\)/)
    expect(await broker.stop()).toBe(1)
  })

  /**
   * Starts a compose service's `command:` in the image folder, its ${NAME:-default} from `dotEnv` as compose reads
   * .env; resolves once its output matches `ready`.
   */
  function start(service: string, env: Record<string, string>, ready: RegExp, dotEnv: Record<string, string> = {}) {
    const [node, ...args] = compose.services[service]!.command!.map((a) =>
      a.replace(/\$\{([A-Z0-9_]+):-([^}]*)\}/g, (_m, name: string, fallback: string) => dotEnv[name] || fallback),
    )
    expect(node).toBe('node')
    return run(service, args, env, ready)
  }

  async function run(what: string, args: string[], env: Record<string, string>, ready: RegExp) {
    const child: ChildProcessByStdio<null, Readable, Readable> = spawn(process.execPath, args, {
      cwd: image.path,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    onTestFinished(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')))
    let output = ''
    child.stdout.on('data', (b: Buffer) => (output += b.toString()))
    child.stderr.on('data', (b: Buffer) => (output += b.toString()))
    let code: number | string | undefined
    // 'close': the process is gone and its output read to the end (a CLI may print and end between two polls).
    const closed = new Promise<RegExpExecArray>((resolve, reject) =>
      child.once('close', (c, s) => {
        code = c ?? s ?? 'unknown'
        const m = ready.exec(output)
        if (m) resolve(m)
        else reject(new Error(`${what} exited (${code}) before ${ready}`))
      }),
    )
    const match = await Promise.race([waitFor(() => ready.exec(output), { timeoutMs: 60_000, what: `${what}: ${ready}` }), closed]).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${what} output:\n${output}`)
    })
    return {
      match,
      output: () => output,
      /** The exit code once it is gone (a CLI's own end). */
      exit: async () => (await waitFor(() => (code !== undefined ? { code } : undefined), { timeoutMs: 20_000, what: `${what} to exit` })).code,
      /** SIGTERM (when still running), then the exit code once it is gone. */
      stop: async () => {
        if (code === undefined) child.kill('SIGTERM')
        return (await waitFor(() => (code !== undefined ? { code } : undefined), { timeoutMs: 20_000, what: `${what} to exit` })).code
      },
    }
  }
})
