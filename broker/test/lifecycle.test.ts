import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { makeTempDir } from '@mytho/testing'
import { createBroker } from '../src/broker.ts'
import { loadBrokerConfig } from '../src/config.ts'
import { connectDevice, deviceA, registry, startBroker, untilClosed } from './harness.ts'

describe('broker lifecycle', () => {
  it('stop() drops clients, is safe to call twice, and frees the ports', async () => {
    const b = await startBroker()
    const device = await connectDevice(b, deviceA)
    const closed = untilClosed(device)
    await Promise.all([b.broker.stop(), b.broker.stop()])
    await b.broker.stop()
    await closed
    // The port is free again.
    const probe = createServer()
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(b.mqttPort, '127.0.0.1', resolve))
    await new Promise((r) => probe.close(r))
  })

  it('stop() without start() is fine', async () => {
    const dir = makeTempDir('mytho-broker-')
    const broker = await createBroker(loadBrokerConfig({ DATA_DIR: dir.path }), { registry })
    await broker.stop()
    await broker.stop()
    dir.cleanup()
  })

  it('start() fails when the port is taken, and stop() still cleans up', async () => {
    const taken = createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
    const port = (taken.address() as { port: number }).port
    const dir = makeTempDir('mytho-broker-')
    const broker = await createBroker(loadBrokerConfig({ DATA_DIR: dir.path, MQTT_HOST: '127.0.0.1', MQTT_PORT: String(port), MQTT_WS_PORT: 'off' }), {
      registry,
    })
    await expect(broker.start()).rejects.toMatchObject({ code: 'EADDRINUSE' })
    await broker.stop()
    await new Promise((r) => taken.close(r))
    dir.cleanup()
  })
})
