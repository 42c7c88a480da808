import { describe, expect, it } from 'vitest'
import { type DeviceReading, DeviceRegistry, loadRegistryFile } from '@mytho/schema'
import { validateMessage } from '@mytho/ingest'
import { initialState, nextReading } from '../generators/index.ts'
import { expectedBand, faultExpectation } from '../scenarios/sensor-faults.ts'
import { type FaultMemory, applyFault } from './apply.ts'
import { FAULT_OUTCOMES, type FaultKind, faultKinds, parseFaultMix } from './kinds.ts'
import { countFaults, faultFor } from './plan.ts'

const registry = loadRegistryFile()
const fleet = registry.devices

describe('fault plan', () => {
  it('gives each kind its asked share of messages (within a 4 σ binomial band over 27,500 messages)', () => {
    const mix = { not_json: 0.05, out_of_range: 0.02, duplicate: 0.1, wrong_topic: 0.005 }
    const sent = Object.fromEntries(fleet.map((d) => [d.id, 500]))
    const counts = countFaults(7, sent, mix)
    const n = fleet.length * 500
    for (const kind of faultKinds) {
      const band = expectedBand(n, mix[kind as keyof typeof mix] ?? 0)
      expect(counts[kind], kind).toBeGreaterThanOrEqual(band.min)
      expect(counts[kind], kind).toBeLessThanOrEqual(band.max)
    }
  })

  it('is the same for the same seed and differs for another', () => {
    const mix = { not_json: 0.3 }
    const pick = (seed: number) => Array.from({ length: 200 }, (_, seq) => faultFor(seed, 'rg-my-tho', seq, mix))
    expect(pick(1)).toEqual(pick(1))
    expect(pick(2)).not.toEqual(pick(1))
  })

  it('names a bad mix precisely', () => {
    expect(() => parseFaultMix('not_json=0.5,bogus=0.1')).toThrowErrorMatchingInlineSnapshot(
      `[FaultMixError: unknown fault "bogus"; known: not_json, wrong_type, out_of_range, non_finite, wrong_topic, future_timestamp, stuck, spike, duplicate, out_of_order]`,
    )
    expect(() => parseFaultMix('not_json=0.7,duplicate=0.7')).toThrowErrorMatchingInlineSnapshot(`[FaultMixError: fault rates add up to 1.4, more than 1]`)
    expect(() => parseFaultMix('spike')).toThrowErrorMatchingInlineSnapshot(`[FaultMixError: fault spike needs a rate 0 … 1, e.g. spike=0.02]`)
  })
})

describe('each fault, through the real ingest validator', () => {
  it('lands where FAULT_OUTCOMES says, for every kind of device', () => {
    const reg = new DeviceRegistry(fleet)
    const now = Date.UTC(2025, 9, 6, 10)
    const byKind = new Map(fleet.map((d) => [d.kind, d]))
    for (const device of byKind.values()) {
      for (const fault of faultKinds) {
        const memory: FaultMemory = {}
        // One clean reading first (stuck repeats it), then the faulty one, then a clean one (out_of_order sends the held one after it).
        const readings = [0, 1, 2].map(
          (i) => ({ ...nextReading(device, now + i * 60_000, { ...initialState(1), seq: i }).reading, ts: now + i * 60_000 }) as DeviceReading,
        )
        const pubs = [
          applyFault(device.id, readings[0]!, undefined, memory),
          applyFault(device.id, readings[1]!, fault, memory),
          applyFault(device.id, readings[2]!, undefined, memory),
        ]
        const all = pubs.flat()
        const results = all.map((p) => validateMessage(p.topic, Buffer.from(p.payload), now + 3 * 60_000, reg))
        const rejections = results.flatMap((r) => r.rejections)
        const stored = results.flatMap((r) => r.readings)
        const outcome = FAULT_OUTCOMES[fault as FaultKind]
        const where = `${device.kind} ${fault}`
        if (outcome.where === 'dead_letter') {
          expect(
            rejections.map((r) => r.code),
            where,
          ).toEqual([outcome.reason])
          expect(stored.length, where).toBe(2)
        } else if (outcome.where === 'broker_refusal') {
          // Our broker refuses it before ingest; a permissive broker would pass it on and ingest calls it bad_topic.
          expect(all.filter((p) => !p.topic.endsWith('/readings')).length, where).toBe(1)
          expect(
            rejections.map((r) => r.code),
            where,
          ).toEqual(['bad_topic'])
        } else {
          expect(rejections, where).toEqual([])
          // Duplicates and reordering still store three distinct (device, ts) points.
          expect(new Set(stored.map((r) => r.ts)).size, where).toBe(3)
        }
        if (fault === 'out_of_order') expect(all.map((p) => (JSON.parse(p.payload) as { ts: number }).ts)).toEqual([now, now + 120_000, now + 60_000])
        if (fault === 'duplicate') expect(all.length).toBe(4)
        if (fault === 'stuck') {
          // The stuck message carries the previous reading's measurement, with its own ts.
          const primary = { water_level: 'waterLevelCm', traffic: 'avgSpeedKmh', rain: 'rainMm', salinity: 'salinityGL', air_quality: 'pm25UgM3' }[device.kind]
          const body = JSON.parse(all[1]!.payload) as Record<string, unknown>
          expect(body[primary]).toBe((readings[0] as unknown as Record<string, unknown>)[primary])
          expect(body['ts']).toBe(readings[1]!.ts)
        }
      }
    }
  })

  it('sums the plan into dead letters by reason and broker refusals', () => {
    const mix = { not_json: 0.1, wrong_type: 0.1, out_of_range: 0.05, wrong_topic: 0.05, duplicate: 0.1 }
    const sent = { 'rg-my-tho': 300, 'wl-hydro-station': 120 }
    const e = faultExpectation(3, sent, mix)
    const c = countFaults(3, sent, mix)
    expect(e.deadLetters).toEqual({ not_json: c.not_json, invalid_reading: c.wrong_type, out_of_range: c.out_of_range, non_finite: 0, future_timestamp: 0 })
    expect(e.brokerRefusals).toBe(c.wrong_topic)
    expect(e.storedFaulty).toBe(c.duplicate)
  })
})
