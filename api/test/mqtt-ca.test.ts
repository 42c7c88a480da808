import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { makeTempDir, makeTestCertificate } from '@mytho/testing'
import { loadApiConfig } from '../src/config.ts'
import { startSecuredApi } from './auth-harness.ts'

/*
 * The admin page's mosquitto_pub line against the platform's private CA: MQTT_PUBLIC_CA_FILE names the certificate
 * devices trust (compose: deploy/make-secrets.sh's secrets/mqtt-tls/ca.pem), checked when the API starts and served
 * to operators and admins at GET /api/v1/mqtt-ca.pem, and GET /config tells the page it is there.
 */
const root = fileURLToPath(new URL('../..', import.meta.url))
const tmp = makeTempDir('mytho-api-mqtt-ca-')
afterAll(() => tmp.cleanup())

// A CA as make-secrets.sh makes one (EC P-256, CA:TRUE), and its key beside it.
const { cert: caPem, key: caKey } = makeTestCertificate(tmp.path, { name: 'ca', cn: 'Mỹ Tho test MQTT CA', ca: true, days: 30 })
const ca = readFileSync(caPem, 'utf8')
const file = (name: string, text: string) => {
  const p = join(tmp.path, name)
  writeFileSync(p, text)
  return p
}

describe('MQTT_PUBLIC_CA_FILE: checked at start', () => {
  it('takes a PEM certificate (with comments around it), serving only the certificate', () => {
    const withComments = file('bundle.pem', `# the city's MQTT CA\n${ca}\n`)
    expect(loadApiConfig({ MQTT_PUBLIC_CA_FILE: caPem }).MQTT_PUBLIC_CA).toBe(ca)
    expect(loadApiConfig({ MQTT_PUBLIC_CA_FILE: withComments }).MQTT_PUBLIC_CA).toBe(ca)
    expect(loadApiConfig({}).MQTT_PUBLIC_CA).toBeUndefined()
  })

  it('refuses a key, a file that is no certificate, a broken one, a folder and a missing file, naming the variable', () => {
    const refusal = (env: Record<string, string>) => {
      try {
        loadApiConfig(env)
      } catch (err) {
        return (err as Error).message
      }
      return 'accepted'
    }
    // the CA's key named by mistake: it would be served to every operator
    expect(refusal({ MQTT_PUBLIC_CA_FILE: caKey })).toMatch(/MQTT_PUBLIC_CA: holds a private key \(the file MQTT_PUBLIC_CA_FILE names\)/)
    expect(refusal({ MQTT_PUBLIC_CA_FILE: file('both.pem', `${ca}${readFileSync(caKey, 'utf8')}`) })).toMatch(/MQTT_PUBLIC_CA: holds a private key/)
    expect(refusal({ MQTT_PUBLIC_CA_FILE: file('text.pem', 'mqtts://mqtt.mytho.example.vn:8883\n') })).toMatch(
      /MQTT_PUBLIC_CA: expected a PEM certificate \(-----BEGIN CERTIFICATE-----\)/,
    )
    const broken = ca.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA')
    expect(refusal({ MQTT_PUBLIC_CA_FILE: file('broken.pem', broken) })).toMatch(/MQTT_PUBLIC_CA: certificate 1 of 1 is not a valid X\.509 certificate/)
    mkdirSync(join(tmp.path, 'a-folder'))
    expect(refusal({ MQTT_PUBLIC_CA_FILE: join(tmp.path, 'a-folder') })).toMatch(/MQTT_PUBLIC_CA_FILE: cannot read the file it names \(EISDIR\)/)
    expect(refusal({ MQTT_PUBLIC_CA_FILE: join(tmp.path, 'missing.pem') })).toMatch(/MQTT_PUBLIC_CA_FILE: cannot read the file it names \(ENOENT\)/)
  })

  it('the API does not start on a bad file: exit 2, the variable named on stderr', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'api/src/main.ts')], {
      cwd: root,
      env: { PATH: process.env['PATH'] ?? '', DATA_DIR: join(tmp.path, 'data'), MQTT_PUBLIC_CA_FILE: caKey },
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(r.status, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/^api: invalid environment:\n {2}MQTT_PUBLIC_CA: holds a private key/m)
    expect(r.stderr).not.toContain('PRIVATE KEY')
  })

  it('MQTT_PUBLIC_URL built from a MYTHO_SITE list (compose) names its first host on the port given', () => {
    expect(loadApiConfig({ MQTT_PUBLIC_URL: 'mqtts://map.mytho.local, 10.20.0.5:8883' }).MQTT_PUBLIC_URL).toBe('mqtts://map.mytho.local:8883')
    expect(loadApiConfig({ MQTT_PUBLIC_URL: 'mqtts://localhost:8883' }).MQTT_PUBLIC_URL).toBe('mqtts://localhost:8883')
    expect(() => loadApiConfig({ MQTT_PUBLIC_URL: 'https://map.mytho.local' })).toThrow(/MQTT_PUBLIC_URL: expected mqtt:\/\/host:port/)
  })
})

describe('GET /api/v1/mqtt-ca.pem', () => {
  it('serves the CA to operators and admins as mytho-mqtt-ca.pem; viewers and anonymous callers are refused', async () => {
    const t = await startSecuredApi({ MQTT_PUBLIC_CA: ca, MQTT_PUBLIC_URL: 'mqtts://mqtt.mytho.example.vn:8883' })
    expect((await t.call(undefined, 'GET', '/mqtt-ca.pem')).status).toBe(401)
    expect((await t.call(await t.signIn('viewer'), 'GET', '/mqtt-ca.pem')).status).toBe(403)
    for (const role of ['operator', 'admin'] as const) {
      const res = await t.call(await t.signIn(role), 'GET', '/mqtt-ca.pem')
      expect(res.status, role).toBe(200)
      expect(res.body).toBe(ca)
      expect(res.headers.get('content-type')).toMatch(/^application\/x-pem-file/)
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="?mytho-mqtt-ca\.pem"?$/)
    }
    // the page learns where it is, beside the broker's address
    const config = await t.call(await t.signIn('viewer'), 'GET', '/config')
    expect(config.body).toMatchObject({ mqttUrl: 'mqtts://mqtt.mytho.example.vn:8883', mqttCa: { url: '/api/v1/mqtt-ca.pem', fileName: 'mytho-mqtt-ca.pem' } })
  })

  it('is 404, and /config names no CA, when MQTT_PUBLIC_CA_FILE is not set', async () => {
    const t = await startSecuredApi({ MQTT_PUBLIC_URL: 'mqtts://mqtt.mytho.example.vn:8883' })
    const operator = await t.signIn('operator')
    const res = await t.call<{ error: string }>(operator, 'GET', '/mqtt-ca.pem')
    expect(res.status).toBe(404)
    expect(res.body.error).toMatch(/MQTT_PUBLIC_CA_FILE/)
    const config = await t.call<Record<string, unknown>>(operator, 'GET', '/config')
    expect(config.body).not.toHaveProperty('mqttCa')
  })
})
