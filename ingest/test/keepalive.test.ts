import { describe, expect, it, onTestFinished } from 'vitest'
import { createBroker, loadBrokerConfig } from '@mytho/broker'
import { readDemoSecrets, silentLogger } from '@mytho/runtime'
import { makeTempDir, waitFor } from '@mytho/testing'
import { createMqttSession } from '../src/mqtt-session.ts'

/*
 * The ingest's own MQTT session keeps a quiet link: devices silent for longer than the keepalive while the
 * ingest itself publishes (its health, every few seconds) must not look like a dead broker. It did: PINGREQ
 * went out only after the ingest's own silence, so nothing came back and the session reconnected every 45 s.
 */
describe('ingest MQTT session keepalive', () => {
  it('stays connected through a quiet spell while it publishes, by pinging when it hears nothing', async () => {
    const tmp = makeTempDir('mytho-keepalive-')
    onTestFinished(() => tmp.cleanup())
    const broker = await createBroker(loadBrokerConfig({ DATA_DIR: tmp.path, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_WS_PORT: 'off' }), {
      logger: silentLogger,
    })
    onTestFinished(() => broker.stop())
    const { mqttPort } = await broker.start()
    const secrets = readDemoSecrets(tmp.path)!
    const session = createMqttSession(
      {
        url: `mqtt://127.0.0.1:${mqttPort}`,
        clientId: 'mytho-ingest-quiet',
        username: 'svc-ingest',
        password: () => secrets.services['svc-ingest'],
        subscriptions: ['mytho/v1/devices/+/readings'],
        keepaliveS: 1,
      },
      () => {},
      silentLogger,
    )
    onTestFinished(() => session.stop())
    await session.start()
    // Publishing every 200 ms (as the health does every few seconds at the default keepalive) for 4 keepalives,
    // with no device message at all: a dropped session would reconnect and count a second connect.
    const publisher = setInterval(() => session.publish('mytho/v1/platform/health', '{}', true), 200)
    onTestFinished(() => clearInterval(publisher))
    const t0 = Date.now()
    await waitFor(() => Date.now() - t0 > 4_000, { timeoutMs: 10_000, what: 'four keepalive periods' })
    expect(session.stats.connects).toBe(1)
    expect(session.connected).toBe(true)
  })
})
