import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it, onTestFinished } from 'vitest'
import { SERVICE_ACCOUNTS } from '@mytho/runtime'
import { makeTempDir, waitFor } from '@mytho/testing'
import { collect, connect, deviceA, startBroker } from './harness.ts'

const run = promisify(execFile)
const MAKE_SECRETS = fileURLToPath(new URL('../../deploy/make-secrets.sh', import.meta.url))

/*
 * Issue #19, finding 2: in compose devices reach the broker from outside only over TLS (8883), with the certificate
 * deploy/make-secrets.sh signs with its private CA, and service accounts only on the internal listener
 * (MQTT_SERVICE_NETS=none). Here an installer's mosquitto_pub --cafile talks to a real broker set up that way
 * (provisioning.test.ts covers MQTT.js over TLS with a self-signed certificate).
 */
describe('MQTT over TLS as compose deploys it, with mosquitto_pub', () => {
  it('a device publishes with --cafile of the deploy CA; without that CA it cannot; a service account is refused on TLS', async () => {
    const dir = makeTempDir('mytho-mqtt-tls-')
    onTestFinished(() => dir.cleanup())
    await run('sh', [MAKE_SECRETS, dir.path], { env: { ...process.env, MQTT_TLS_NAMES: 'localhost,127.0.0.1' } })
    const tls = join(dir.path, 'mqtt-tls')
    const b = await startBroker({
      MQTT_TLS_PORT: '0',
      MQTT_TLS_CERT: join(tls, 'cert.pem'),
      MQTT_TLS_KEY: join(tls, 'key.pem'),
      MQTT_SERVICE_NETS: 'none',
      MQTT_INTERNAL_PORT: '0',
    })
    const ingest = await connect(`mqtt://127.0.0.1:${b.internalPort}`, {
      clientId: 'mytho-ingest-tls1',
      username: SERVICE_ACCOUNTS.ingest,
      password: b.secrets.services[SERVICE_ACCOUNTS.ingest]!,
    })
    const got = collect(ingest)
    await ingest.subscribeAsync(`mytho/v1/devices/${deviceA}/status`, { qos: 1 })

    const publish = (extra: string[], user: string, password: string, clientId: string) =>
      run(
        'mosquitto_pub',
        [
          '-h',
          'localhost',
          '-p',
          String(b.tlsPort),
          '-i',
          clientId,
          '-u',
          user,
          '-P',
          password,
          '-q',
          '1',
          '-t',
          `mytho/v1/devices/${deviceA}/status`,
          '-m',
          'online',
          ...extra,
        ],
        {
          timeout: 10_000,
        },
      )

    await publish(['--cafile', join(tls, 'ca.pem')], deviceA, b.secrets.devices[deviceA]!, deviceA)
    await waitFor(() => got.some((m) => m.payload === 'online'), { what: 'the reading published over TLS at svc-ingest' })

    // The system's CAs do not know the city's private CA: the certificate is checked, not just any TLS accepted.
    await expect(publish(['--capath', '/etc/ssl/certs'], deviceA, b.secrets.devices[deviceA]!, deviceA)).rejects.toMatchObject({
      stderr: expect.stringMatching(/TLS error/),
    })
    // svc-ingest with its right password, on the devices' TLS listener: refused (only the internal listener takes it).
    await expect(
      publish(['--cafile', join(tls, 'ca.pem')], SERVICE_ACCOUNTS.ingest, b.secrets.services[SERVICE_ACCOUNTS.ingest]!, 'mytho-ingest-tls2'),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/not authori[sz]ed/i) })
    expect(got.filter((m) => m.payload === 'online')).toHaveLength(1)
  })
})
