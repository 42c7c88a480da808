/*
 * Aedes patch. Patches the connection's `read` that Aedes pulls its input with (`conn.read(null)` in nextBatch,
 * aedes/lib/client.js), so every byte Aedes parses has passed the packet scanner (../packet-guard.ts). Why: below.
 * Written against the versions in aedes-version.test.ts; re-check it when they change.
 */
import type { Duplex } from 'node:stream'
import { createPacketScanner, type PacketLimits, type PacketRefusedError, type PacketScanner } from '../packet-guard.ts'

/** What the broker asks of a guarded connection after the fact (for its refusal counters and logs). */
export interface ConnectionGuard {
  /** True once the guard has closed this connection for breaking a limit. */
  readonly refused: boolean
  /** True once a whole CONNECT packet has passed the guard. */
  readonly sessionStarted: boolean
}

/**
 * Puts the packet scanner between a connection (TCP/TLS socket or WebSocket stream) and Aedes: every byte
 * Aedes gets has passed the scanner, and the connection is destroyed the moment a chunk breaks a limit,
 * before mqtt-packet buffers any of it.
 *
 * Aedes pulls its input with `conn.read(null)` on 'readable' (nextBatch in aedes/lib/client.js), so the scan
 * sits in that one call on the connection itself. An earlier version wrapped each connection in a Duplex:
 * with 10,000 devices that wrapper (two stream states, its closures) was ~2.5 KiB of heap per connection and
 * one more hop for every chunk. Writes go to the socket untouched. The broker tests (packet guard, WebSocket,
 * conformance) fail if Aedes ever reads another way.
 */
type Refused = (err: PacketRefusedError, who: { remoteAddress: string | undefined; clientId: string | undefined }) => void
type Guarded = Duplex & { client?: { id: string | null }; [kGuard]: Guard }

const kGuard = Symbol('packet guard')

// State on the connection and one shared read function: no closures per connection (10,000 devices).
class Guard implements ConnectionGuard {
  refused = false
  readonly scanner: PacketScanner
  constructor(
    limits: PacketLimits,
    readonly read: Duplex['read'],
    readonly remoteAddress: string | undefined,
    readonly onRefused: Refused,
  ) {
    this.scanner = createPacketScanner(limits)
  }
  get sessionStarted(): boolean {
    return this.scanner.connected
  }
}

function guardedRead(this: Guarded, size?: number): unknown {
  const guard = this[kGuard]
  if (guard.refused) return null
  const chunk: unknown = guard.read.call(this, size)
  if (chunk === null || !Buffer.isBuffer(chunk)) return chunk
  const refusal = guard.scanner.feed(chunk)
  if (!refusal) return chunk
  guard.refused = true
  guard.onRefused(refusal, { remoteAddress: guard.remoteAddress, clientId: this.client?.id ?? undefined })
  // Aedes listens for 'error' on its connection and ends the client with this reason.
  if (refusal.connackCode === undefined) this.destroy(refusal)
  // [MQTT-3.1.2-2] an unsupported protocol level is answered CONNACK 0x01 before the close (Aedes never saw the
  // CONNECT, so the guard writes it): destroyed once written, as Aedes does after its own refusing CONNACK.
  else this.write(Buffer.from([0x20, 0x02, 0x00, refusal.connackCode]), () => this.destroy(refusal))
  return null
}

export function guardConnection(
  conn: Duplex,
  limits: PacketLimits,
  /** For logs: who is on the other end. */
  remoteAddress: string | undefined,
  onRefused: Refused,
): ConnectionGuard {
  const guarded = conn as Guarded
  const guard = (guarded[kGuard] = new Guard(limits, conn.read, remoteAddress, onRefused))
  conn.read = guardedRead
  return guard
}
