import { describe, expect, it } from 'vitest'
import { bindHost, isLoopback, signInOffWarning, urlHost, warningBlock } from './listen-host.ts'

describe('where a demo without sign-in listens (issue #15)', () => {
  it('loopback is 127.0.0.0/8, ::1 and localhost; the wildcards and a LAN address are not', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true)
    for (const h of ['0.0.0.0', '::', '192.0.2.2', 'fd00::2', 'example.org', '']) expect(isLoopback(h), h).toBe(false)
  })

  it('without sign-in an unset host is 127.0.0.1; a host set (or set through NAME_FILE) is kept; with sign-in the parsed one is kept', () => {
    expect(bindHost({}, 'HTTP_HOST', '0.0.0.0', true)).toBe('127.0.0.1')
    expect(bindHost({ HTTP_HOST: '  ' }, 'HTTP_HOST', '0.0.0.0', true)).toBe('127.0.0.1')
    expect(bindHost({ HTTP_HOST: '0.0.0.0' }, 'HTTP_HOST', '0.0.0.0', true)).toBe('0.0.0.0')
    expect(bindHost({ MQTT_HOST_FILE: '/run/secrets/host' }, 'MQTT_HOST', '192.0.2.2', true)).toBe('192.0.2.2')
    expect(bindHost({}, 'HTTP_HOST', '0.0.0.0', false)).toBe('0.0.0.0')
  })

  it('URLs name the host a browser can use: localhost for a wildcard, brackets for IPv6', () => {
    expect(urlHost('0.0.0.0')).toBe('localhost')
    expect(urlHost('::')).toBe('localhost')
    expect(urlHost('127.0.0.1')).toBe('127.0.0.1')
    expect(urlHost('fd00::2')).toBe('[fd00::2]')
  })

  it('the warning says it in words, Vietnamese then English, and is red only on a terminal', () => {
    const lines = signInOffWarning(['http://192.0.2.2:8080/'], 'HTTP_HOST')
    const text = lines.join('\n')
    expect(lines[0]).toMatch(/^CẢNH BÁO \/ WARNING: /)
    expect(text).toContain('sign-in is disabled and the map is reachable from the network at http://192.0.2.2:8080/')
    expect(text).toContain('HTTP_HOST')
    expect(text.indexOf('đăng nhập')).toBeLessThan(text.indexOf('sign-in'))
    expect(warningBlock(lines, false)).toBe(lines.map((l) => `  ${l}`).join('\n'))
    expect(warningBlock(lines, true)).toBe(lines.map((l) => `  \x1b[1;31m${l}\x1b[0m`).join('\n'))
  })
})
