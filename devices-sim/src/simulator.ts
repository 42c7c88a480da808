import { DeviceRegistry, type DeviceReading, type DeviceRecord, loadRegistryFile } from '@mytho/schema'
import { type Logger, demoSecretsPath, once, readDemoSecrets, redactUrl, silentLogger } from '@mytho/runtime'
import type { SimConfig } from './config.ts'
import { type ConnectionFailure, type DeviceRunner, type SimStats, createDeviceRunner } from './device-runner.ts'
import { clockSkewMs } from './clock-skew.ts'
import { type FaultMemory, applyFault } from './faults/apply.ts'
import type { FaultMix } from './faults/kinds.ts'
import { type FaultCounts, faultFor, zeroFaultCounts } from './faults/plan.ts'
import { initialState, nextReading } from './generators/index.ts'
import { scenarioSetup } from './run-scenario.ts'
import type { Scenario } from './scenarios/index.ts'
import type { ScenarioBase } from './scenarios/types.ts'
import { createLimiter } from './limiter.ts'
import { rngFor } from './prng.ts'
import { createSimClock } from './sim-clock.ts'

export class SimulatorError extends Error {
  override name = 'SimulatorError'
}

/** The env-shaped part of the configuration the simulator reads (see config.ts for units and defaults). */
export type SimulatorConfig = Pick<SimConfig, 'MQTT_URL' | 'SIM_DEVICES' | 'SIM_SPEED' | 'SIM_SEED' | 'DATA_DIR'> &
  Partial<Pick<SimConfig, 'SIM_START' | 'SIM_CONNECT_CONCURRENCY' | 'DEVICE_REGISTRY_FILE' | 'SIM_SCENARIO' | 'SIM_FAULTS' | 'speedExplicit'>> &
  SimulatorOptions

/** Library-only knobs (no env variable): tests and the later load mode tune them. */
export interface SimulatorOptions {
  /** Multiplies every real interval after SIM_SPEED (0.1 = ten times as often, simulated clock unchanged). Default 1. */
  intervalScale?: number
  /** Shortest real time between two readings of one device, ms. Default 100. */
  minIntervalMs?: number
  /** MQTT keep-alive, s. Default 60. */
  keepaliveS?: number
  /** Time an attempt may take until CONNACK, ms. Default 10,000. */
  connectTimeoutMs?: number
  /** First retry wait after a refusal or a drop, ms; doubled per failure up to the max. Defaults 500 and 30,000. */
  reconnectMinMs?: number
  reconnectMaxMs?: number
  /** Unacknowledged readings per device before readings are skipped. Default 100. */
  maxInflightPerDevice?: number
  /** Per device, how long stop() waits for a clean goodbye, ms. Default 5,000. */
  stopTimeoutMs?: number
  /** How often to log the counters, ms; 0 = never. Default 60,000. */
  statsLogEveryMs?: number
  /** Per-message faults (faults/kinds.ts); default none. */
  faults?: FaultMix | undefined
  /** A scenario's change to each generated reading (e.g. king-tide surge). */
  adjust?: ScenarioBase['adjust']
  /** A scenario's pacing (slower near its high points); default one speed throughout. */
  pace?: ScenarioBase['pace']
  /** Give a few devices a skewed clock (clock-skew.ts). Default true. */
  clockSkew?: boolean
  /** false: devices publish only when publishNow() is called (load mode). Default true. */
  selfPaced?: boolean
  /** Connect without credentials (broker with MQTT_ALLOW_ANONYMOUS=true). Default false. */
  anonymous?: boolean
}

export interface SimulatorDeps {
  /** Devices to choose from. Default: DEVICE_REGISTRY_FILE, else the seed fleet. */
  registry?: DeviceRegistry | readonly DeviceRecord[]
  /** Device id → MQTT password. Default: DATA_DIR/secrets/demo-secrets.json, re-read while ids are missing. */
  secrets?: Readonly<Record<string, string>>
  logger?: Logger
  /** Real clock, ms UTC; stamps `ts` and drives the simulated clock. Default Date.now. */
  now?: () => number
}

/**
 * The city's device fleet on MQTT: one connection per device, its own username, password and Last
 * Will, publishing generated readings at its interval (SIM_SPEED faster), values deterministic in
 * SIM_SEED and the simulated time.
 */
export function createSimulator(given: SimulatorConfig, deps: SimulatorDeps = {}) {
  const log = deps.logger ?? silentLogger
  const now = deps.now ?? Date.now
  let loaded: DeviceRegistry | undefined
  const registry = (): DeviceRegistry => {
    const reg = deps.registry ?? loadRegistryFile(given.DEVICE_REGISTRY_FILE)
    return (loaded ??= reg instanceof DeviceRegistry ? reg : new DeviceRegistry(reg))
  }
  // SIM_SCENARIO (and SIM_FAULTS) shape the run: start, speed, devices, faults, the world's changes.
  // Options the caller set itself (faults, adjust) win over the scenario's. Load has its own runner.
  let scenario: Scenario | undefined
  let config: SimulatorConfig = given
  if (given.SIM_SCENARIO !== undefined && given.SIM_SCENARIO !== 'load') {
    const setup = scenarioSetup(given, registry().devices)
    scenario = setup.scenario
    config = { ...setup.config, ...(given.faults ? { faults: given.faults } : {}), ...(given.adjust ? { adjust: given.adjust } : {}) }
  }
  const speed = config.SIM_SPEED
  const seed = config.SIM_SEED
  const intervalScale = config.intervalScale ?? 1
  const minIntervalMs = config.minIntervalMs ?? 100
  const stats: SimStats = { devices: 0, connected: 0, published: 0, acked: 0, errors: 0, reconnects: 0 }
  const faultCounts = zeroFaultCounts()
  /** Readings generated per device (seq 0 … n−1): what fault expectations are computed from. */
  const sent = new Map<string, number>()
  let runners: DeviceRunner[] = []
  let statsTimer: NodeJS.Timeout | undefined
  let stopping = false

  const selectDevices = (): DeviceRecord[] => {
    const reg = registry()
    if (config.SIM_DEVICES === 'all') return [...reg.devices]
    const unknown = config.SIM_DEVICES.filter((id) => !reg.get(id))
    if (unknown.length > 0) throw new SimulatorError(`SIM_DEVICES names devices not in the registry: ${unknown.join(', ')}`)
    return config.SIM_DEVICES.map((id) => reg.get(id)!)
  }

  /** Passwords: given ones, else the demo secrets file, re-read (at most every 2 s) while an id has none. */
  const passwordSource = (): ((id: string) => string | undefined) => {
    if (config.anonymous) return () => undefined
    if (deps.secrets) {
      const given = deps.secrets
      return (id) => given[id]
    }
    let loaded = readDemoSecrets(config.DATA_DIR)?.devices ?? {}
    if (Object.keys(loaded).length === 0)
      log.warn('no demo secrets yet: devices connect without passwords until the broker writes them', { path: demoSecretsPath(config.DATA_DIR) })
    let loadedAt = Date.now()
    return (id) => {
      if (loaded[id] === undefined && Date.now() - loadedAt > 2000) {
        loadedAt = Date.now()
        try {
          loaded = readDemoSecrets(config.DATA_DIR)?.devices ?? loaded
        } catch (err) {
          log.error('cannot read demo secrets', { err })
        }
      }
      return loaded[id]
    }
  }

  /*
   * Connection failures and losses, summarised: when the broker goes down all devices fail at once;
   * one warning per reason every 10 s (with how many devices and attempts) says so without a flood.
   */
  const failureLog = new Map<string, { lastAt: number; attempts: number; devices: Set<string> }>()
  const onConnectionFailure = (f: ConnectionFailure) => {
    const key = String(f.code ?? f.reason)
    const entry = failureLog.get(key) ?? { lastAt: -Infinity, attempts: 0, devices: new Set<string>() }
    failureLog.set(key, entry)
    entry.attempts++
    entry.devices.add(f.deviceId)
    const t = Date.now()
    if (t - entry.lastAt < 10_000) return
    log.warn('device connections failing; retrying with backoff', {
      reason: f.reason,
      ...(f.code !== undefined ? { code: f.code } : {}),
      devices: entry.devices.size,
      attempts: entry.attempts,
      example: f.deviceId,
    })
    entry.lastAt = t
    entry.attempts = 0
    entry.devices.clear()
  }

  return {
    /** The scenario played (from SIM_SCENARIO), with its expectations; undefined without one. */
    scenario,
    /** The configuration in effect after the scenario. */
    config,
    /** Live counters (read-only view). */
    get stats(): Readonly<SimStats> {
      return { ...stats }
    },
    /** Faults injected so far, by kind. */
    get faultCounts(): Readonly<FaultCounts> {
      return { ...faultCounts }
    },
    /** Readings generated per device id (their seqs are 0 … n−1). */
    get sentPerDevice(): ReadonlyMap<string, number> {
      return new Map(sent)
    },
    /** The device connections, in registry order (load mode publishes through them). */
    get runners(): readonly DeviceRunner[] {
      return runners
    },
    /**
     * Takes devices offline for `offlineMs` (Infinity: until stop): with their Last Will (socket
     * cut) or without (clean DISCONNECT, status stays `online`). Returns how many were dropped.
     */
    drop(ids: readonly string[] | 'all', opts: { will: boolean; offlineMs: number }): number {
      const set = ids === 'all' ? undefined : new Set(ids)
      return runners.filter((r) => !set || set.has(r.device.id)).filter((r) => r.drop(opts)).length
    },
    /** Every connection cut at once; devices come back through the connect gate with backoff. */
    reconnectStorm(): number {
      return this.drop('all', { will: true, offlineMs: 0 })
    },
    /** Opens every device's connection (bounded concurrency) and resolves with how many are live after the first attempt. */
    async start(): Promise<{ devices: number }> {
      if (runners.length > 0 || stopping) throw new SimulatorError('simulator already started')
      const devices = selectDevices()
      const password = passwordSource()
      const clock = createSimClock({ speed, startMs: config.SIM_START, now, pace: config.pace })
      const gate = createLimiter(config.SIM_CONNECT_CONCURRENCY ?? 20)
      stats.devices = devices.length
      runners = devices.map((device) => {
        let state = initialState(seed)
        const jitter = rngFor(seed, 'jitter', device.id)
        const intervalMs = device.intervalS * 1000 * intervalScale
        const skew = config.clockSkew === false ? 0 : clockSkewMs(seed, device.id)
        const memory: FaultMemory = {}
        return createDeviceRunner({
          url: redactUrl(config.MQTT_URL),
          device,
          password: () => password(device.id),
          nextMessages: () => {
            const t = clock.simNow()
            const next = nextReading(device, t, state)
            state = next.state
            // ts is real time even when the simulated clock runs ahead (ingest's 5-minute future limit).
            let reading: DeviceReading = { ...next.reading, ts: Math.round(clock.realNow()) + skew }
            if (config.adjust) reading = config.adjust(device, t, reading)
            sent.set(device.id, (sent.get(device.id) ?? 0) + 1)
            const fault = config.faults ? faultFor(seed, device.id, reading.seq ?? 0, config.faults) : undefined
            if (fault) faultCounts[fault]++
            return applyFault(device.id, reading, fault, memory)
          },
          ...(config.selfPaced === false ? { selfPaced: false } : {}),
          ...(config.anonymous ? { anonymous: true } : {}),
          // ±10 % jitter, so devices started together drift apart as real ones do.
          // At the pace of the moment: a paced scenario's slow stretch keeps the device's own interval in simulated time.
          nextDelayMs: () => Math.max(minIntervalMs, (intervalMs / clock.speedNow()) * (0.9 + 0.2 * jitter())),
          gate,
          stats,
          log: log.child({ deviceId: device.id }),
          keepaliveS: config.keepaliveS ?? 60,
          connectTimeoutMs: config.connectTimeoutMs ?? 10_000,
          reconnectMinMs: config.reconnectMinMs ?? 500,
          reconnectMaxMs: config.reconnectMaxMs ?? 30_000,
          maxInflight: config.maxInflightPerDevice ?? 100,
          stopTimeoutMs: config.stopTimeoutMs ?? 5_000,
          onConnectionFailure,
        })
      })
      const logEvery = config.statsLogEveryMs ?? 60_000
      if (logEvery > 0) statsTimer = setInterval(() => log.info('simulator stats', { ...stats }), logEvery).unref()
      log.info('simulator starting', {
        devices: devices.length,
        url: redactUrl(config.MQTT_URL),
        speed,
        seed,
        simStart: new Date(clock.simNow()).toISOString(),
      })
      const results = await Promise.all(runners.map((r) => r.start()))
      return { devices: results.filter(Boolean).length }
    },
    /** Says `offline:planned` for every device (a planned goodbye, no incident), disconnects cleanly, clears every timer. Safe to call twice. */
    stop: once(async () => {
      stopping = true
      clearInterval(statsTimer)
      await Promise.all(runners.map((r) => r.stop()))
      log.info('simulator stopped', { ...stats })
    }),
  }
}
export type Simulator = ReturnType<typeof createSimulator>
