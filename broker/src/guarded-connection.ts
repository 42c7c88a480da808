import { Duplex } from 'node:stream'
import { createPacketScanner, type PacketLimits, type PacketRefusedError, type PacketScanner } from './packet-guard.ts'

/**
 * What `aedes.handle()` gets instead of the raw socket (TCP) or WebSocket stream: every chunk the
 * client sends passes the packet scanner first, and the connection is destroyed the moment a chunk
 * breaks a limit, before Aedes (and mqtt-packet's buffering) sees any of it. Writes go straight
 * through, batched when Aedes corks (mqtt-packet writes a packet in several pieces).
 */
export class GuardedConnection extends Duplex {
  readonly #inner: Duplex
  readonly #scanner: PacketScanner
  #refused = false

  constructor(
    inner: Duplex,
    limits: PacketLimits,
    /** For logs: who is on the other end. */
    readonly remoteAddress: string | undefined,
    onRefused: (err: PacketRefusedError, conn: GuardedConnection) => void,
  ) {
    super({ allowHalfOpen: false })
    this.#inner = inner
    const scanner = (this.#scanner = createPacketScanner(limits))
    inner.on('data', (chunk: Buffer) => {
      if (this.#refused) return
      const refusal = scanner.feed(chunk)
      if (refusal) {
        this.#refused = true
        onRefused(refusal, this)
        // Aedes listens for 'error' on its connection and ends the client with this reason.
        this.destroy(refusal)
        return
      }
      if (!this.push(chunk)) inner.pause()
    })
    inner.once('end', () => this.push(null))
    inner.on('error', (err) => this.destroy(err))
    inner.once('close', () => this.destroy())
  }

  /** True once the guard has closed this connection for breaking a limit. */
  get refused(): boolean {
    return this.#refused
  }

  /** True once a whole CONNECT packet has passed the guard. */
  get sessionStarted(): boolean {
    return this.#scanner.connected
  }

  override _read(): void {
    this.#inner.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#inner.write(chunk)) callback()
    else this.#inner.once('drain', () => callback())
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const inner = this.#inner
    inner.cork()
    let ok = true
    for (const { chunk } of chunks) ok = inner.write(chunk)
    inner.uncork()
    if (ok) callback()
    else inner.once('drain', () => callback())
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#inner.end()
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#inner.destroy()
    callback(error)
  }
}

export function guardConnection(
  inner: Duplex,
  limits: PacketLimits,
  remoteAddress: string | undefined,
  onRefused: (err: PacketRefusedError, conn: GuardedConnection) => void,
): GuardedConnection {
  return new GuardedConnection(inner, limits, remoteAddress, onRefused)
}
