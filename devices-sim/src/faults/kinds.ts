import type { RejectReason } from '@mytho/schema'

/*
 * Faults a device can be made to show, per message. A closed set: the CLI, the scenarios and the
 * expectations key on it. Each says where the platform shows it, so a test or a demo can check
 * the platform end to end:
 *  - dead letter: ingest keeps the message with that reject reason (api: /api/v1/dead-letters);
 *  - broker refusal: the broker refuses the publish (stats.packetsRefused['publish-denied']) and,
 *    as MQTT 3.1.1 cannot say no to a PUBLISH [MQTT-3.3.5-2], closes the connection: the device
 *    reconnects (its Will marks it offline meanwhile);
 *  - stored: a well-formed reading the platform stores (and may alert on); duplicates and
 *    out-of-order messages are stored once, in ts order, because storage keys on (device, ts).
 */
export const faultKinds = [
  'not_json',
  'wrong_type',
  'out_of_range',
  'non_finite',
  'wrong_topic',
  'future_timestamp',
  'stuck',
  'spike',
  'duplicate',
  'out_of_order',
] as const
export type FaultKind = (typeof faultKinds)[number]

export type FaultOutcome =
  | { where: 'dead_letter'; reason: RejectReason }
  | { where: 'broker_refusal'; reason: 'publish-denied' }
  | { where: 'stored'; note: string }

export const FAULT_OUTCOMES: Record<FaultKind, FaultOutcome> = {
  not_json: { where: 'dead_letter', reason: 'not_json' },
  wrong_type: { where: 'dead_letter', reason: 'invalid_reading' },
  out_of_range: { where: 'dead_letter', reason: 'out_of_range' },
  non_finite: { where: 'dead_letter', reason: 'non_finite' },
  // The device's own readings topic plus a level: outside `…/{id}/readings`, so the broker refuses it.
  wrong_topic: { where: 'broker_refusal', reason: 'publish-denied' },
  // Clock 10 minutes ahead: beyond ingest's 5-minute tolerance.
  future_timestamp: { where: 'dead_letter', reason: 'future_timestamp' },
  stuck: { where: 'stored', note: 'repeats the previous measurement (a flat line)' },
  spike: { where: 'stored', note: 'one implausible but in-range value' },
  duplicate: { where: 'stored', note: 'sent twice, stored once (same device and ts)' },
  out_of_order: { where: 'stored', note: 'sent after the next reading, stored in ts order' },
}

/** Share of messages per fault kind, each 0 … 1, summing to at most 1. */
export type FaultMix = Partial<Record<FaultKind, number>>

export class FaultMixError extends Error {
  override name = 'FaultMixError'
}

/** Parses `not_json=0.01,duplicate=0.02` (the CLI's --faults); unknown kinds and bad rates name themselves. */
export function parseFaultMix(text: string): FaultMix {
  const mix: FaultMix = {}
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, rate] = part.split('=') as [string, string | undefined]
    if (!(faultKinds as readonly string[]).includes(name)) throw new FaultMixError(`unknown fault "${name}"; known: ${faultKinds.join(', ')}`)
    const r = Number(rate)
    if (rate === undefined || !Number.isFinite(r) || r < 0 || r > 1) throw new FaultMixError(`fault ${name} needs a rate 0 … 1, e.g. ${name}=0.02`)
    mix[name as FaultKind] = r
  }
  return checkFaultMix(mix)
}

export function checkFaultMix(mix: FaultMix): FaultMix {
  const total = Object.values(mix).reduce((a, b) => a + b, 0)
  if (total > 1 + 1e-9) throw new FaultMixError(`fault rates add up to ${total}, more than 1`)
  return mix
}
