import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'

/*
 * Where a start without sign-in listens (issue #15). With AUTH_DISABLED anyone who reaches the map acts as an
 * operator, so the demo is this machine's: HTTP_HOST and MQTT_HOST, whose schema default is 0.0.0.0 (every
 * interface), become 127.0.0.1 unless the environment sets them. Set explicitly to another address, the operator
 * chose the network, and the start says so in words (a log keeps the words; colour is only for a terminal).
 */

export const LOOPBACK = '127.0.0.1'

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
  if (h === 'localhost' || h === '::1') return true
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h
  return isIP(v4) === 4 && v4.startsWith('127.')
}

/** Set as parseEnv reads it: NAME or NAME_FILE, a blank value counting as unset. */
const isSet = (env: Record<string, string | undefined>, name: string): boolean =>
  [env[name], env[`${name}_FILE`]].some((v) => v !== undefined && v.trim() !== '')

/**
 * The interface to bind: `parsed` (the config's value, default included) unless sign-in is off and the environment
 * leaves `name` unset, then 127.0.0.1. The raw environment is needed: after parsing, a default and an explicit
 * 0.0.0.0 look the same.
 */
export function bindHost(env: Record<string, string | undefined>, name: string, parsed: string, authDisabled: boolean): string {
  return authDisabled && !isSet(env, name) ? LOOPBACK : parsed
}

const WILDCARDS = new Set(['0.0.0.0', '::', ''])

/** The host to put in a URL printed for someone on this machine: localhost for a wildcard, brackets for IPv6. */
export function urlHost(host: string): string {
  if (WILDCARDS.has(host)) return 'localhost'
  return isIP(host) === 6 ? `[${host}]` : host
}

/** URLs others on the network can use for a listener on `host` (a wildcard: every non-loopback address of this machine). */
export function networkUrls(host: string, url: (host: string) => string): string[] {
  if (!WILDCARDS.has(host)) return [url(urlHost(host))]
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && (host !== '0.0.0.0' || a.family === 'IPv4') && !a.address.startsWith('fe80:'))
    .map((a) => url(urlHost(a!.address)))
  return addresses.length > 0 ? addresses : [url(host)]
}

/** The warning of a map without sign-in on the network: Vietnamese first, then English; one line each. */
export function signInOffWarning(urls: readonly string[], variable: string): string[] {
  const at = urls.join(', ')
  return [
    `CẢNH BÁO / WARNING: đăng nhập đang tắt (AUTH_DISABLED=true) mà bản đồ mở ra mạng tại ${at}: ai vào được cũng thao tác như người trực. Bỏ ${variable} để chỉ nghe trên ${LOOPBACK}, hoặc bật đăng nhập (AUTH_DISABLED=false).`,
    `  sign-in is disabled and the map is reachable from the network at ${at}: anyone who reaches it acts as an operator. Unset ${variable} to listen on ${LOOPBACK} only, or turn sign-in on (AUTH_DISABLED=false).`,
  ]
}

/** The demo's broker on the network: devices still sign in, but it is the demo's, with its generated secrets. */
export function demoBrokerWarning(urls: readonly string[], variable: string): string[] {
  const at = urls.join(', ')
  return [
    `CẢNH BÁO / WARNING: bản demo mở broker MQTT ra mạng tại ${at} (thiết bị vẫn cần mật khẩu của mình). Bỏ ${variable} để chỉ nghe trên ${LOOPBACK}.`,
    `  the demo's MQTT broker is reachable from the network at ${at} (devices still need their secrets). Unset ${variable} to listen on ${LOOPBACK} only.`,
  ]
}

/** Lines of a warning for the start banner, indented; bold red on a terminal (`colour`), plain in a log or pipe. */
export function warningBlock(lines: readonly string[], colour: boolean): string {
  return lines.map((l) => (colour ? `  \x1b[1;31m${l}\x1b[0m` : `  ${l}`)).join('\n')
}

/** Colour only where a person watches a terminal, and never with NO_COLOR (no-color.org). */
export const colourOn = (stream: { isTTY?: boolean }): boolean => stream.isTTY === true && !process.env['NO_COLOR']
