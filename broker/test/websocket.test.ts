import { once } from 'node:events'
import { describe, expect, it, onTestFinished } from 'vitest'
import { WebSocket } from 'ws'
import { readingsTopic } from '@mytho/schema'
import { waitFor } from '@mytho/testing'
import { connect, deviceA, ingestListener, startBroker, untilClosed } from './harness.ts'

describe('MQTT over WebSocket', () => {
  it('carries a device connecting on ws://…/mqtt to subscribers on TCP', async () => {
    const b = await startBroker()
    const got = await ingestListener(b)
    const device = await connect(b.wsUrl!, { username: deviceA, password: b.secrets.devices[deviceA]! })
    await device.publishAsync(readingsTopic(deviceA), '{"ts":5}', { qos: 1 })
    await waitFor(() => got.length === 1, { what: 'the reading' })
    expect(got[0]).toMatchObject({ topic: readingsTopic(deviceA), payload: '{"ts":5}' })
  })

  it('refuses a wrong password over WebSocket too', async () => {
    const b = await startBroker()
    await expect(connect(b.wsUrl!, { username: deviceA, password: 'nope' })).rejects.toMatchObject({ code: 4 })
  })

  it('closes a WebSocket connection sending a message over the packet limit', async () => {
    const b = await startBroker({ MQTT_MAX_PACKET_BYTES: '4096' })
    const device = await connect(b.wsUrl!, { username: deviceA, password: b.secrets.devices[deviceA]! })
    const closed = untilClosed(device)
    device.publish(readingsTopic(deviceA), Buffer.alloc(10_000, 0x20))
    await closed
    expect(b.broker.stats.packetsRefused).toEqual({ 'packet-too-large': 1 })
  })

  it('refuses a single oversized WebSocket message at its frame header (close 1009), before CONNECT', async () => {
    const b = await startBroker({ MQTT_MAX_PACKET_BYTES: '4096' })
    const ws = new WebSocket(b.wsUrl!, 'mqtt')
    onTestFinished(() => ws.terminate())
    await once(ws, 'open')
    expect(ws.protocol).toBe('mqtt')
    ws.send(Buffer.alloc(1024 * 1024))
    const [code] = (await once(ws, 'close')) as [number]
    expect(code).toBe(1009) // message too big
    expect(b.broker.stats.connectionsRefused).toEqual({ 'packet-too-large': 1 })
  })

  it('is off with MQTT_WS_PORT=off', async () => {
    const b = await startBroker({ MQTT_WS_PORT: 'off' })
    expect(b.wsUrl).toBeUndefined()
  })
})
