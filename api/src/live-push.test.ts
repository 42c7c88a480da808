import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { io, type Socket } from 'socket.io-client'
import { afterEach, describe, expect, it } from 'vitest'
import { CITY_BOUNDS, loadRegistryFile, type ClientToServerEvents, type LiveDeviceState, type ServerToClientEvents, type StoredReading } from '@mytho/schema'
import { silentLogger } from '@mytho/runtime'
import { createSqliteStore } from '@mytho/storage'
import { makeTempDir, waitFor } from '@mytho/testing'
import { createLivePush } from './live-push.ts'
import { createLiveState } from './live-state.ts'

const reading = (cm: number): StoredReading => {
  const now = Date.now()
  return { deviceId: 'wl-tan-long', kind: 'water_level', ward: 'my-tho', ts: now, tsSource: 'device', receivedAt: now, fields: { waterLevelCm: cm } }
}

describe('live push timing: a change goes out at once after a quiet spell, then at most once per interval', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c()
  })

  /** The live push on a real HTTP server, its state on a real SQLite file, and one Socket.IO browser viewing the city. */
  const setup = async (flushMs: number) => {
    const tmp = makeTempDir('mytho-live-push-')
    const store = createSqliteStore({ path: join(tmp.path, 'r.sqlite') })
    cleanups.push(
      () => tmp.cleanup(),
      () => store.close(),
    )
    await store.init()
    const state = createLiveState({ registry: loadRegistryFile(), store })
    const http = createServer()
    const push = createLivePush(http, { flushMs }, { state, logger: silentLogger, feedStatus: () => ({ connected: true, since: Date.now() }) })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    cleanups.unshift(
      () => new Promise<void>((resolve) => http.close(() => resolve())),
      () => push.stop(),
    )
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, {
      path: '/socket.io',
      transports: ['websocket'],
    })
    cleanups.unshift(() => void socket.close())
    const updates: { at: number; devices: LiveDeviceState[] }[] = []
    socket.on('updates', (devices) => updates.push({ at: performance.now(), devices }))
    const bbox: [number, number, number, number] = [CITY_BOUNDS.west, CITY_BOUNDS.south, CITY_BOUNDS.east, CITY_BOUNDS.north]
    await new Promise<void>((resolve) => socket.emit('view', { bbox, zoom: 13 }, () => resolve()))
    return { state, updates }
  }

  it('pushes the first change without waiting for the interval', async () => {
    // An interval longer than waitFor's 10 s: a push that waited for it would never be seen.
    const { state, updates } = await setup(60_000)
    state.applyReadings([reading(120)])
    await waitFor(() => updates.length === 1, { what: 'the first update, long before the 60 s interval' })
    expect(updates[0]!.devices).toMatchObject([{ deviceId: 'wl-tan-long', lastReading: { fields: { waterLevelCm: 120 } } }])
  })

  it('holds a change that follows a push until the interval has passed, and sends only the latest state', async () => {
    const { state, updates } = await setup(400)
    state.applyReadings([reading(120)])
    await waitFor(() => updates.length === 1, { what: 'the first update' })
    state.applyReadings([reading(130)])
    state.applyReadings([reading(140)])
    await waitFor(() => updates.length === 2, { what: 'the second update' })
    // At least the interval after the first (less a margin for the first one's own way to the browser).
    expect(updates[1]!.at - updates[0]!.at).toBeGreaterThanOrEqual(350)
    expect(updates[1]!.devices).toHaveLength(1)
    expect(updates[1]!.devices[0]).toMatchObject({ deviceId: 'wl-tan-long', lastReading: { fields: { waterLevelCm: 140 } } })
  })
})
