import type { Logger } from '@mytho/runtime'
import type { IncomingMessage } from './mqtt-session.ts'
import type { IngestSession } from './partition-sessions.ts'

/*
 * The ingest's session when it runs inside the broker's process (IngestDeps.inProcess): an in-process subscription
 * instead of an MQTT connection, so the broker keeps no queue for the ingest and nothing is parsed twice.
 *
 * Why "acknowledged = stored" holds: Aedes hands a publish to every in-process handler through mqemitter, whose
 * emit calls back only once every handler has called its callback (fastparallel); a publish this session alone
 * receives goes to it straight and calls back when it does (the broker's straight-to-sole-handler.ts). With the
 * broker's pubackAfterInProcessHandlers option the device's PUBACK is written only after that publish called back. Here a
 * message's callback is its `ack()`, which the ingest calls once the reading (or its dead letter) is stored or
 * spooled. Until then the device's connection reads no further (aedes/lib/client.js nextBatch waits for every packet
 * of a read chunk), so the backpressure that the broker's queue gave reaches the devices' own MQTT windows instead.
 */

/** A message as the broker hands it to an in-process subscriber (an Aedes publish packet). */
export interface InProcessPacket {
  topic: string
  payload: Buffer | string
  qos: 0 | 1 | 2
  dup: boolean
}

/**
 * What the ingest uses of a broker in its own process: the in-process subscribe and publish of Aedes (a `Broker`'s
 * `aedes`, created with pubackAfterInProcessHandlers). `deliver`'s callback tells the broker the message is kept.
 */
export interface InProcessBroker {
  readonly closed: boolean
  subscribe(topic: string, deliver: (packet: InProcessPacket, callback: () => void) => void, done: (err?: Error) => void): void
  publish(packet: { cmd: 'publish'; topic: string; payload: Buffer; qos: 0; retain: boolean; dup: false }, callback: (err?: Error) => void): void
}

export interface InProcessSessionOptions {
  subscriptions: readonly string[]
  /** Messages handed to the ingest and not yet acknowledged, at most; the rest wait here with their callbacks. Default 50,000. */
  maxInflight?: number | undefined
  /**
   * Published (QoS 0) when the session stops, as the broker publishes an MQTT session's Last Will when its connection
   * dies: in process the ingest goes when the broker does, so readers of the retained health see the pipeline down.
   * Made at stop time. Default none.
   */
  will?: (() => { topic: string; payload: string; retain: boolean }) | undefined
}

type Deliver = (packet: InProcessPacket, callback: () => void) => void

export function createInProcessSession(
  broker: InProcessBroker,
  opts: InProcessSessionOptions,
  onMessage: (msg: IncomingMessage) => void,
  logger: Logger,
): IngestSession {
  const maxInflight = opts.maxInflight ?? 50_000
  const stats = { connects: 0, disconnects: 0, received: 0, acked: 0, redelivered: 0 }
  let inflight = 0
  let held = false
  let paused = false
  let stopped = false
  let subscribed = false
  // Messages not handed over yet (held, paused or over maxInflight), oldest first, each with its publish's callback.
  let waiting: [InProcessPacket, () => void][] = []
  let head = 0

  // Made by a factory rather than written in the message's object literal: a bundle built with keepNames (ours, and
  // tsx) gives every function written at a named place an Object.defineProperty call each time it is created, here
  // once per reading.
  const ackOnce = (done: () => void) => {
    let acked = false
    return () => {
      // fastparallel counts callbacks: a second call would complete someone else's publish.
      if (acked) return
      acked = true
      inflight--
      stats.acked++
      done()
      drain()
    }
  }

  const handOver = (packet: InProcessPacket, done: () => void) => {
    stats.received++
    if (packet.dup) stats.redelivered++
    inflight++
    onMessage({
      topic: packet.topic,
      payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
      qos: packet.qos,
      dup: packet.dup,
      ack: ackOnce(done),
    })
  }

  const drain = () => {
    while (head < waiting.length && !held && !paused && !stopped && inflight < maxInflight) {
      const [packet, done] = waiting[head]!
      waiting[head++] = undefined as never
      handOver(packet, done)
    }
    if (head === waiting.length) {
      waiting = []
      head = 0
    }
  }

  // Two parameters on purpose: fastparallel calls a one-parameter function with the callback only.
  const deliver: Deliver = (packet, done) => {
    // After stop() a message is never called back: without an acknowledgement the device keeps it and sends it
    // again on its next connection, where an unsubscribed ingest would let Aedes acknowledge it into the void.
    if (stopped) return
    if (held || paused || inflight >= maxInflight || head < waiting.length) waiting.push([packet, done])
    else handOver(packet, done)
  }

  const subscribe = (filter: string) =>
    new Promise<void>((resolve, reject) => broker.subscribe(filter, deliver, (err?: Error) => (err ? reject(err) : resolve())))

  return {
    stats,
    get connected() {
      return subscribed && !stopped
    },
    get inflight() {
      return inflight
    },
    get held() {
      return held
    },
    async start(): Promise<void> {
      stopped = false
      await Promise.all(opts.subscriptions.map(subscribe))
      subscribed = true
      stats.connects++
      logger.info('subscribed in process', { subscriptions: opts.subscriptions })
    },
    /** Fire-and-forget QoS 0 publish through the broker; false once it is closed. */
    publish(topic: string, payload: Buffer | string, retain = false): boolean {
      if (broker.closed) return false
      broker.publish({ cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: 0, retain, dup: false }, (err) => {
        if (err && !broker.closed) logger.warn('in-process publish failed', { topic, err: err.message })
      })
      return true
    },
    /** Stops handing messages over until release(); they wait here unacknowledged, so their devices wait too. */
    hold(): void {
      held = true
    },
    release(): void {
      held = false
      drain()
    },
    /** Graceful stop's first step: nothing more is handed over; what is in flight is still acknowledged when stored. */
    pause(): void {
      paused = true
    },
    /**
     * The subscription stays: a device publishing while the broker is still open must not be acknowledged, and with
     * no subscriber Aedes would acknowledge it at once. The broker closing those connections ends the wait; their
     * devices send the readings again. Messages not handed over are dropped here, unacknowledged.
     */
    async stop(): Promise<void> {
      if (stopped) return
      stopped = true
      if (subscribed) stats.disconnects++
      const dropped = waiting.length - head
      waiting = []
      head = 0
      if (dropped > 0) logger.info('stopped with messages not handed over; their devices send them again', { dropped })
      const will = opts.will?.()
      if (will && !broker.closed)
        await new Promise<void>((resolve) =>
          broker.publish({ cmd: 'publish', topic: will.topic, payload: Buffer.from(will.payload), qos: 0, retain: will.retain, dup: false }, () => resolve()),
        )
    },
  }
}
