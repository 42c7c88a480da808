import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { z } from 'zod'
import { commonEnv, env, parseEnv } from './config.ts'

describe('parseEnv', () => {
  const schema = commonEnv.extend({ MQTT_PORT: env.port(1883), MQTT_ALLOW_ANONYMOUS: env.bool(false) })

  it('applies defaults and treats empty strings as unset', () => {
    const cfg = parseEnv(schema, { MQTT_PORT: '', INFLUX_URL: '  ' })
    expect(cfg.MQTT_PORT).toBe(1883)
    expect(cfg.INFLUX_URL).toBeUndefined()
    expect(cfg.DATA_DIR).toMatch(/\/data$/)
    expect(parseEnv(schema, { DATA_DIR: '/srv/mytho' }).DATA_DIR).toBe('/srv/mytho')
    expect(cfg.MQTT_ALLOW_ANONYMOUS).toBe(false)
  })

  it('names every bad variable in one error', () => {
    expect(() => parseEnv(schema, { MQTT_PORT: 'abc', INFLUX_URL: 'ftp://x', MQTT_ALLOW_ANONYMOUS: 'maybe' })).toThrowErrorMatchingInlineSnapshot(`
      [ConfigError: invalid environment:
        INFLUX_URL: expected an http(s) URL
        MQTT_PORT: Invalid input: expected number, received NaN
        MQTT_ALLOW_ANONYMOUS: expected true or false]
    `)
  })

  it('ignores variables the schema does not know', () => {
    expect(parseEnv(z.object({ A: z.string().default('a') }), { B: 'x' })).toEqual({ A: 'a' })
  })

  // Issue #15, finding 5: `ADMIN_PASSWORD: at least 12 characters (got "short")` printed the secret into the log.
  it('never repeats a value in its error, also for a password inside a URL', () => {
    const secrets = commonEnv.extend({ API_MQTT_PASSWORD: env.secret(), REDIS_URL: env.redisUrl(), MQTT_URL: env.mqttUrls('mqtt://127.0.0.1:1883') })
    let message = ''
    try {
      parseEnv(secrets, {
        API_MQTT_PASSWORD: 'tiny-pw',
        REDIS_URL: 'redis://:hunter2hunter2@redis:6379',
        INFLUX_URL: 'ftp://user:pw-in-url@x',
        MQTT_URL: 'mqtt://dev:s3cret@/x',
      })
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toMatchInlineSnapshot(`
      "invalid environment:
        INFLUX_URL: expected an http(s) URL
        API_MQTT_PASSWORD: is shorter than 16 characters; generate one with: openssl rand -base64 32
        REDIS_URL: the password in it is shorter than 16 characters; generate one with: openssl rand -base64 32
        MQTT_URL: expected mqtt://host:port or a comma-separated list of them"
    `)
    for (const value of ['tiny-pw', 'hunter2', 'pw-in-url', 's3cret']) expect(message).not.toContain(value)
  })

  it('refuses placeholders, short, repetitive and sequential secrets, and takes generated ones', () => {
    const schema = z.object({ S: env.secret() })
    for (const bad of [
      'change-me-ingest',
      'CHANGEME-please-0123',
      'aaaaaaaaaaaaaaaaaaaa',
      'abababababababababab',
      '12345678901234567890',
      'abcdefghijklmnopqrst',
      'short',
    ])
      expect(() => parseEnv(schema, { S: bad }), bad).toThrow(/S: (is|has) /)
    for (const good of ['Xk3v9Qm2L8pZ4rT7wB1nY6cF', 'ingest-service-password-e2e', 'q8J1zN0t5bVx2sK7mW4pR9eA3dH6gL0c'])
      expect(parseEnv(schema, { S: good }).S).toBe(good)
  })

  it('reads NAME_FILE (Docker secrets), drops the trailing newline, and refuses both set or an unreadable file', () => {
    const dir = { path: mkdtempSync(join(tmpdir(), 'mytho-env-file-')) }
    onTestFinished(() => rmSync(dir.path, { recursive: true, force: true }))
    const file = join(dir.path, 'api_mqtt_password')
    writeFileSync(file, 'Xk3v9Qm2L8pZ4rT7wB1nY6cF\n', { mode: 0o600 })
    const schema = z.object({ API_MQTT_PASSWORD: env.secret(), OTHER: z.string().optional() })
    expect(parseEnv(schema, { API_MQTT_PASSWORD_FILE: file }).API_MQTT_PASSWORD).toBe('Xk3v9Qm2L8pZ4rT7wB1nY6cF')
    expect(() => parseEnv(schema, { API_MQTT_PASSWORD_FILE: file, API_MQTT_PASSWORD: 'Xk3v9Qm2L8pZ4rT7wB1nY6cF' })).toThrow(
      'API_MQTT_PASSWORD: set API_MQTT_PASSWORD or API_MQTT_PASSWORD_FILE, not both',
    )
    expect(() => parseEnv(schema, { API_MQTT_PASSWORD_FILE: join(dir.path, 'missing') })).toThrow(
      'API_MQTT_PASSWORD_FILE: cannot read the file it names (ENOENT)',
    )
    // The file's content is checked like the variable's, and never echoed.
    writeFileSync(file, 'change-me-api\n')
    chmodSync(file, 0o600)
    expect(() => parseEnv(schema, { API_MQTT_PASSWORD_FILE: file })).toThrow(/API_MQTT_PASSWORD: is a placeholder/)
  })
})
