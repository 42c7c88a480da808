import type { RejectReason } from '@mytho/schema'
import { FAULT_OUTCOMES, type FaultKind, type FaultMix, faultKinds } from '../faults/kinds.ts'
import { type FaultCounts, countFaults } from '../faults/plan.ts'
import type { ScriptStep } from './script.ts'
import type { BuildOptions, IncidentExpectation, RuleAssumption, ScenarioBase } from './types.ts'

/*
 * Misbehaving devices: each message of the playing devices carries a fault with the mix's rate.
 * Faults are a function of (seed, device, seq) (faults/plan.ts), so for the messages a run actually
 * sent the platform's counts are exact: dead letters by reason, publishes the broker refused, and
 * readings stored once despite duplicates and reordering.
 */
export const SENSOR_FAULTS_MIX: FaultMix = {
  not_json: 0.02,
  wrong_type: 0.02,
  out_of_range: 0.02,
  non_finite: 0.01,
  future_timestamp: 0.01,
  stuck: 0.02,
  spike: 0.01,
  duplicate: 0.03,
  out_of_order: 0.02,
  // Each refused publish costs the device its connection: keep it rare.
  wrong_topic: 0.005,
}

/** Real time at speed 60: an hour a minute, every device on its interval. */
export const SENSOR_FAULTS_SPEED = 60

export interface FaultExpectation {
  /** Injected faults by kind. */
  faults: FaultCounts
  /** Dead letters ingest should hold, by reason. */
  deadLetters: Partial<Record<RejectReason, number>>
  /** Publishes the broker refuses (stats.packetsRefused['publish-denied']); each also drops the device once. */
  brokerRefusals: number
  /** Well-formed faulty readings that are stored (stuck, spike, duplicate counted once, out_of_order). */
  storedFaulty: number
}

/** What the platform should show after each device sent messages seq 0 … n−1. */
export function faultExpectation(seed: number, sentPerDevice: ReadonlyMap<string, number> | Record<string, number>, mix: FaultMix): FaultExpectation {
  const faults = countFaults(seed, sentPerDevice, mix)
  const deadLetters: Partial<Record<RejectReason, number>> = {}
  let brokerRefusals = 0
  let storedFaulty = 0
  for (const kind of faultKinds) {
    const n = faults[kind]
    const o = FAULT_OUTCOMES[kind]
    if (o.where === 'dead_letter') deadLetters[o.reason] = (deadLetters[o.reason] ?? 0) + n
    else if (o.where === 'broker_refusal') brokerRefusals += n
    else storedFaulty += n
  }
  return { faults, deadLetters, brokerRefusals, storedFaulty }
}

/** Expected count and a ±4 σ binomial band for n messages at a rate: what an approximate check allows. */
export function expectedBand(n: number, rate: number): { expected: number; min: number; max: number } {
  const expected = n * rate
  const sd = Math.sqrt(n * rate * (1 - rate))
  return { expected, min: Math.max(0, Math.floor(expected - 4 * sd)), max: Math.ceil(expected + 4 * sd) }
}

export interface SensorFaultsScenario extends ScenarioBase {
  name: 'sensor-faults'
  faults: FaultMix
  /** Where each fault kind shows on the platform (dead letter by reason, broker refusal, stored). */
  outcomes: typeof FAULT_OUTCOMES
  /**
   * Connection faults, real ms after start: two devices vanish (their Will says `offline`) for a minute, one
   * leaves cleanly without a Will for seven (status stays `online`, only its silence shows: the "silent device"
   * alert); then every connection is cut at once (a reconnect storm).
   */
  script: ScriptStep[]
  /** Exact platform counts for what was sent (pass `simulator.sentPerDevice`). */
  expect(sentPerDevice: ReadonlyMap<string, number> | Record<string, number>): FaultExpectation
}

/** The built-in device-silent rule this story's incidents assume (packages/alerts default-rules; tests check they agree). */
export const SILENT_RULE_ASSUMED: RuleAssumption & { intervalMultiple: number } = { ruleId: 'device-silent', raiseHoldS: 0, clearHoldS: 0, intervalMultiple: 3 }

/** Slack for the engine's tick (ALERT_TICK_MS, 5 s) and a device's reconnection backoff (≤ 30 s) after its outage. */
const TICK_SLACK_MS = 10_000
const RECONNECT_SLACK_MS = 40_000

/**
 * A device cut with its Will is reported lost at once; one gone quietly, after three of its intervals of silence
 * (real seconds: silence is measured on wall time); both clear on their first reading back. The reconnect storm is
 * not declared: most devices are back before the engine's next tick, a few may be reported for a moment.
 */
function silentIncidents(script: readonly ScriptStep[], fleet: BuildOptions['fleet']): IncidentExpectation[] {
  const out: IncidentExpectation[] = []
  for (const step of script) {
    if (step.action === 'reconnect-storm') continue
    for (const id of step.devices) {
      const device = fleet.find((d) => d.id === id)
      if (!device) continue
      const after = step.action === 'offline-with-will' ? 0 : SILENT_RULE_ASSUMED.intervalMultiple * device.intervalS * 1000
      if (after >= step.offlineMs) continue
      out.push({
        ruleId: SILENT_RULE_ASSUMED.ruleId,
        subject: id,
        levels: [1],
        byRealMs: step.atRealMs + after + TICK_SLACK_MS,
        clearedByRealMs: step.atRealMs + step.offlineMs + RECONNECT_SLACK_MS,
      })
    }
  }
  return out.sort((a, b) => a.byRealMs - b.byRealMs || a.subject.localeCompare(b.subject))
}

export function sensorFaults(opts: BuildOptions & { mix?: FaultMix }): SensorFaultsScenario {
  const mix = opts.mix ?? SENSOR_FAULTS_MIX
  const script = faultScript(opts)
  return {
    name: 'sensor-faults',
    summary: `every device misbehaves at the given rates (${Object.entries(mix)
      .map(([k, r]) => `${k} ${((r ?? 0) * 100).toFixed(1)} %`)
      .join(', ')})`,
    startMs: undefined,
    speed: opts.speed ?? SENSOR_FAULTS_SPEED,
    durationMs: undefined,
    devices: 'all',
    faults: mix,
    outcomes: FAULT_OUTCOMES,
    script,
    incidents: silentIncidents(script, opts.fleet),
    expect: (sent) => faultExpectation(opts.seed, sent, mix),
  }
}

function faultScript(opts: BuildOptions): ScriptStep[] {
  const pick = (kind: string, n: number) =>
    opts.fleet
      .filter((d) => d.kind === kind)
      .slice(0, n)
      .map((d) => d.id)
  return [
    { atRealMs: 20_000, action: 'offline-with-will', devices: [...pick('traffic', 1), ...pick('water_level', 1)], offlineMs: 60_000 },
    // Long enough (7 min) for the silence rule: three of the air sensor's 2-minute intervals, on wall time.
    { atRealMs: 30_000, action: 'offline-without-will', devices: pick('air_quality', 1), offlineMs: 420_000 },
    { atRealMs: 120_000, action: 'reconnect-storm' },
  ]
}

export type { FaultKind }
