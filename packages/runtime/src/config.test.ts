import { describe, expect, it } from 'vitest'
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
        INFLUX_URL: expected an http(s) URL (got "ftp://x")
        MQTT_PORT: Invalid input: expected number, received NaN (got "abc")
        MQTT_ALLOW_ANONYMOUS: expected true or false (got "maybe")]
    `)
  })

  it('ignores variables the schema does not know', () => {
    expect(parseEnv(z.object({ A: z.string().default('a') }), { B: 'x' })).toEqual({ A: 'a' })
  })
})
