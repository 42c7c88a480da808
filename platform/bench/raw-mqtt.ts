/*
 * A load generator that plays devices with pre-encoded MQTT 3.1.1 packets on plain TCP sockets (issue #20), so the
 * devices' own CPU does not cap a run: every PUBLISH of a run is encoded before the clock starts, one contiguous
 * buffer per device, and sending k packets is one write of a slice of it. Each connection authenticates as its
 * own device; QoS 1 with packet ids, at most `window` unacknowledged per connection; PUBACKs are counted, not
 * matched (a broker may acknowledge out of order, and ids are unique within 65,535 sends, far beyond the window).
 * Runs in its own process (raw-load-child.ts, startRawLoad) so its CPU is measured apart from the broker's.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { readingsTopic } from '@mytho/schema'
import { body } from './publish.ts'

export interface RawDevice {
  id: string
  kind: string
  /** Its MQTT password (the demo secret); undefined connects without username and password (a reference broker). */
  password?: string
}

/** MQTT's Remaining Length: 7 bits per byte, low first, the high bit saying another byte follows (3.1.1 §2.2.3). */
function remainingLength(n: number): Buffer {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return Buffer.from(out)
}

const utf8 = (s: string) => {
  const b = Buffer.from(s, 'utf8')
  const len = Buffer.alloc(2)
  len.writeUInt16BE(b.length)
  return Buffer.concat([len, b])
}

/** CONNECT, protocol level 4, clean session, keepalive off (a run has no idle time). */
export function encodeConnect(clientId: string, username?: string, password?: string, keepaliveS = 0): Buffer {
  let flags = 0x02 // clean session
  if (username !== undefined) flags |= 0x80
  if (password !== undefined) flags |= 0x40
  const keepalive = Buffer.alloc(2)
  keepalive.writeUInt16BE(keepaliveS)
  const parts = [utf8('MQTT'), Buffer.from([4, flags]), keepalive, utf8(clientId)]
  if (username !== undefined) parts.push(utf8(username))
  if (password !== undefined) parts.push(utf8(password))
  const variable = Buffer.concat(parts)
  return Buffer.concat([Buffer.from([0x10]), remainingLength(variable.length), variable])
}

/** PUBLISH QoS 1 (fixed header 0x32: not DUP, not retained) with a packet id (1–65,535). */
export function encodePublish(topic: string, payload: Buffer, messageId: number): Buffer {
  const id = Buffer.alloc(2)
  id.writeUInt16BE(messageId)
  const variable = Buffer.concat([utf8(topic), id])
  return Buffer.concat([Buffer.from([0x32]), remainingLength(variable.length + payload.length), variable, payload])
}

/** The packet id of a device's i-th publish: 1…65,535, then again. */
export const messageIdOf = (i: number) => (i % 65_535) + 1

export interface EncodedDevice {
  device: RawDevice
  connect: Buffer
  /** Every PUBLISH of the run back to back; packet i is publishes[offsets[i] … offsets[i + 1]). */
  publishes: Buffer
  offsets: number[]
}

/**
 * `n` one-reading messages spread over `devices` as publishAll (publish.ts) spreads them: distinct (device, ts) keys,
 * timestamps ending before `runStart`, the same payloads as the MQTT.js devices send.
 */
export function encodeRun(devices: RawDevice[], n: number, runStart: number): EncodedDevice[] {
  const perDevice = Math.ceil(n / devices.length)
  return devices.map((device, ci) => {
    const count = Math.max(0, Math.min(perDevice, n - ci * perDevice))
    const topic = readingsTopic(device.id)
    const packets: Buffer[] = []
    const offsets = [0]
    for (let i = 0; i < count; i++) {
      const p = encodePublish(topic, Buffer.from(JSON.stringify(body(device.kind, runStart - count + i))), messageIdOf(i))
      packets.push(p)
      offsets.push(offsets[i]! + p.length)
    }
    const pw = device.password
    return { device, connect: encodeConnect(device.id, pw === undefined ? undefined : device.id, pw), publishes: Buffer.concat(packets), offsets }
  })
}

/** Packet types of the control packets read off a socket (first byte >> 4), split on Remaining Length. */
function packetReader(onPacket: (type: number, first: Buffer) => void) {
  let pending = Buffer.alloc(0)
  return (chunk: Buffer) => {
    const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk
    let at = 0
    for (;;) {
      if (buf.length - at < 2) break
      let len = 0
      let mul = 1
      let p = at + 1
      let complete = false
      for (let k = 0; k < 4 && p < buf.length; k++, p++) {
        len += (buf[p]! & 0x7f) * mul
        mul *= 128
        if ((buf[p]! & 0x80) === 0) {
          complete = true
          p++
          break
        }
      }
      if (!complete || buf.length - p < len) break
      onPacket(buf[at]! >> 4, buf.subarray(at, p + len))
      at = p + len
    }
    pending = at < buf.length ? Buffer.from(buf.subarray(at)) : Buffer.alloc(0)
  }
}

export interface RawConnections {
  /** Sends every encoded PUBLISH, keeping at most `window` unacknowledged per connection; resolves with the PUBACKs counted. */
  run(window: number): Promise<number>
  close(): void
}

/** Opens one socket per encoded device to 127.0.0.1:`port` and resolves once every CONNACK accepted it. */
export async function connectRaw(port: number, encoded: EncodedDevice[]): Promise<RawConnections> {
  const socks = await Promise.all(
    encoded.map(
      (e) =>
        new Promise<{ e: EncodedDevice; sock: Socket; onPacket: { fn: (type: number, p: Buffer) => void } }>((resolve, reject) => {
          const sock = connect(port, '127.0.0.1')
          sock.setNoDelay(true)
          const onPacket = {
            fn: (type: number, p: Buffer) => {
              if (type !== 2) return reject(new Error(`${e.device.id}: expected CONNACK, got packet type ${type}`))
              if (p[3] !== 0) return reject(new Error(`${e.device.id}: CONNACK return code ${p[3]}`))
              resolve({ e, sock, onPacket })
            },
          }
          sock.on(
            'data',
            packetReader((t, p) => onPacket.fn(t, p)),
          )
          sock.once('error', reject)
          sock.once('close', () => reject(new Error(`${e.device.id}: connection closed`)))
          sock.write(e.connect)
        }),
    ),
  )
  return {
    run: (window) =>
      Promise.all(
        socks.map(
          ({ e, sock, onPacket }) =>
            new Promise<number>((resolve, reject) => {
              const total = e.offsets.length - 1
              let sent = 0
              let acked = 0
              const send = () => {
                const upTo = Math.min(total, acked + window)
                if (upTo > sent) {
                  sock.write(e.publishes.subarray(e.offsets[sent], e.offsets[upTo]))
                  sent = upTo
                }
              }
              sock.removeAllListeners('close')
              sock.once('close', () => (acked < total ? reject(new Error(`${e.device.id}: closed after ${acked} of ${total} PUBACKs`)) : undefined))
              onPacket.fn = (type) => {
                if (type !== 4) return
                if (++acked === total) resolve(acked)
                else send()
              }
              if (total === 0) resolve(0)
              else send()
            }),
        ),
      ).then((xs) => xs.reduce((a, b) => a + b, 0)),
    close() {
      for (const { sock } of socks) {
        sock.removeAllListeners('close')
        sock.on('error', () => {})
        sock.end(Buffer.from([0xe0, 0x00])) // DISCONNECT
      }
    },
  }
}

export interface RawLoad {
  child: ChildProcess
  /** Starts publishing; resolves when every PUBLISH is acknowledged, with the epoch ms it started and ended. */
  go(): Promise<{ acked: number; t0: number; tAcked: number }>
  stop(): Promise<void>
}

/**
 * The generator in its own process (raw-load-child.ts): it encodes the run and connects every device, then waits for
 * go() so that only the publishing is timed. Clocks are performance.timeOrigin + now(), comparable across processes.
 */
export async function startRawLoad(root: string, opts: { port: number; devices: RawDevice[]; n: number; window: number; runStart: number }): Promise<RawLoad> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'platform/bench/raw-load-child.ts'], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', RAW_LOAD: JSON.stringify(opts) },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const kill = () => child.kill('SIGKILL')
  process.on('exit', kill)
  child.once('exit', () => process.off('exit', kill))
  let out = ''
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }[] = []
  const check = () => {
    for (const w of [...waiters]) {
      const m = out.match(w.re)
      if (m) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(m)
      }
    }
  }
  child.stdout!.on('data', (b: Buffer) => ((out += b.toString()), check()))
  child.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)))
  child.once('exit', (code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`raw load generator exited ${code}: ${out.slice(-2000)}`))
  })
  const wait = (re: RegExp) => new Promise<RegExpMatchArray>((resolve, reject) => (waiters.push({ re, resolve, reject }), check()))
  await wait(/^connected/m)
  return {
    child,
    async go() {
      child.stdin!.write('go\n')
      const m = await wait(/^acked (\d+) ([\d.]+) ([\d.]+)/m)
      return { acked: Number(m[1]), t0: Number(m[2]), tAcked: Number(m[3]) }
    },
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r()
        child.once('exit', () => r())
        child.stdin!.end()
      }),
  }
}
