import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadRegistryFile, type StoredReading } from '@mytho/schema'
import { createSqliteStore } from '@mytho/storage'
import { makeTempDir } from '@mytho/testing'
import { createLiveState } from './live-state.ts'

const t0 = Date.UTC(2026, 10, 25, 3, 0, 0)
// wl-tan-long reports every 300 s: offline after 900 s of silence.
const wl = (ts: number, cm: number, receivedAt = ts): StoredReading => ({
  deviceId: 'wl-tan-long',
  kind: 'water_level',
  ward: 'my-tho',
  ts,
  tsSource: 'device',
  receivedAt,
  fields: { waterLevelCm: cm },
})

describe('live state', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c()
  })
  const setup = async (stored: StoredReading[] = []) => {
    const tmp = makeTempDir('mytho-live-state-')
    const store = createSqliteStore({ path: join(tmp.path, 'r.sqlite') })
    cleanups.push(
      () => tmp.cleanup(),
      () => store.close(),
    )
    await store.init()
    await store.writeReadings(stored)
    let now = t0
    const state = createLiveState({ registry: loadRegistryFile(), store, clock: () => now })
    const changes: string[][] = []
    state.onChange((ids) => changes.push([...ids]))
    return { store, state, changes, setNow: (t: number) => (now = t) }
  }

  it('hydrates from storage and turns a silent device offline on the timer, without new data', async () => {
    const { state, changes, setNow } = await setup([wl(t0 - 60_000, 120)])
    await state.hydrate()
    expect(state.get('wl-tan-long')).toMatchObject({ status: 'ok', lastSeen: t0 - 60_000 })
    expect(changes).toEqual([['wl-tan-long']])
    setNow(t0 - 60_000 + 900_000)
    state.refresh()
    expect(state.get('wl-tan-long')?.status).toBe('ok')
    setNow(t0 - 60_000 + 900_001)
    state.refresh()
    expect(state.get('wl-tan-long')?.status).toBe('offline')
    expect(changes.at(-1)).toEqual(['wl-tan-long'])
    expect(state.view('wl-tan-long')).toMatchObject({ id: 'wl-tan-long', nameVi: expect.any(String), status: 'offline' })
  })

  it('keeps the newest reading when an older one arrives late, but counts it as heard', async () => {
    const { state } = await setup()
    state.applyReadings([wl(t0, 165)])
    state.applyReadings([wl(t0 - 600_000, 100, t0 + 5_000)])
    expect(state.get('wl-tan-long')).toMatchObject({ status: 'alarm', lastSeen: t0 + 5_000, lastReading: { ts: t0, fields: { waterLevelCm: 165 } } })
    expect(state.stats.outOfOrder).toBe(1)
  })

  it('is offline after a Last Will until the device is heard again', async () => {
    const { state, setNow } = await setup()
    state.applyReadings([wl(t0, 145)])
    expect(state.get('wl-tan-long')?.status).toBe('warning')
    setNow(t0 + 1000)
    state.applyConnection('wl-tan-long', 'offline')
    expect(state.get('wl-tan-long')).toMatchObject({ status: 'offline', connection: 'offline' })
    setNow(t0 + 2000)
    state.applyReadings([wl(t0 + 2000, 130)])
    expect(state.get('wl-tan-long')?.status).toBe('ok')
  })

  it('re-hydration only moves devices forward and ignores devices outside the registry', async () => {
    const { store, state } = await setup()
    state.applyReadings([wl(t0, 150)])
    await store.writeReadings([wl(t0 - 1000, 99), { ...wl(t0, 1), deviceId: 'not-in-registry' }])
    await state.hydrate()
    expect(state.get('wl-tan-long')?.lastReading?.fields['waterLevelCm']).toBe(150)
    await store.writeReadings([wl(t0 + 1000, 151)])
    await state.hydrate()
    expect(state.get('wl-tan-long')?.lastReading?.fields['waterLevelCm']).toBe(151)
    expect(state.all()).toHaveLength(loadRegistryFile().size)
  })
})
