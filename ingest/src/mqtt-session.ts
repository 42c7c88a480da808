import { connect as netConnect, type Socket } from 'node:net'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { redactUrl, urlList, type Logger } from '@mytho/runtime'

/*
 * A persistent-session MQTT 3.1.1 subscriber whose acknowledgements the caller controls.
 *
 * Why not MQTT.js: it handles incoming QoS 1 publishes one at a time and sends PUBACK as soon as its
 * handler returns, so acknowledging only after a batch is durably written would stall the stream at
 * one message per write. Here every PUBLISH is handed over at once with an `ack()` that sends the
 * PUBACK later; many messages stay in flight while a batch is written.
 */

export interface IncomingMessage {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  /** True when the broker says this is a redelivery [MQTT-3.3.1-1]. */
  dup: boolean
  /**
   * True for a retained message sent because we subscribed, not as it happened [MQTT-3.3.1-8, 3.3.1-9]: old news (a
   * device's Last Will may have fired while the platform itself was down). The in-process session never gets these.
   */
  retain?: boolean
  /** Sends PUBACK on the connection that delivered it; a no-op after that connection is gone (the broker redelivers). */
  ack(): void
}

export interface MqttSessionOptions {
  /**
   * `mqtt://host:port`, or the nodes of a broker cluster (a list, or comma-separated as MQTT_URL gives them): the
   * first is tried first and each reconnect tries the next, so the session moves to a live node when one dies (the
   * cluster keeps the persistent session and its queue on whichever node it resumes on).
   */
  url: string | readonly string[]
  clientId: string
  username?: string | undefined
  /** Read at every (re)connect, so a password written after start (demo secrets) is picked up. */
  password?: (() => string | undefined) | undefined
  /** Topic filters, subscribed at QoS 1 after each CONNACK. None: the session is connected at CONNACK (a link probe). */
  subscriptions: readonly string[]
  /** Clean session [MQTT-3.1.2-6]: nothing kept or queued by the broker while away. Default false (persistent). */
  clean?: boolean
  /** Seconds; PINGREQ after this much silence, connection dropped after 1.5× with no answer. Default 30. */
  keepaliveS?: number
  /** Unacknowledged messages held before the socket is paused, so the broker's queue holds the rest. Default 50,000. */
  maxInflight?: number
  /** First and largest reconnect delay, ms. Defaults 250 and 10,000. */
  reconnectMinMs?: number
  reconnectMaxMs?: number
  /**
   * Asked before each reconnect; false waits for the next attempt. An ingest partition session whose lease may have
   * passed to another worker must not take the client id back from it (the broker closes the older connection).
   */
  mayReconnect?: (() => boolean) | undefined
  /**
   * Longest wait from opening the socket to CONNACK, ms; then the next address is tried. Default 10,000. A host that
   * is gone (no RST) would otherwise hold the session on it for the OS's connect timeout, minutes.
   */
  connectTimeoutMs?: number
  /** Last Will, QoS 0: the broker publishes it when this connection dies without DISCONNECT [MQTT-3.1.2-8]. */
  will?: { topic: string; payload: string; retain: boolean } | undefined
}

export class MqttSessionError extends Error {
  override name = 'MqttSessionError'
}

const connackReasons: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
}

export function createMqttSession(opts: MqttSessionOptions, onMessage: (msg: IncomingMessage) => void, logger: Logger) {
  const addresses = urlList(opts.url).map((url) => {
    const u = new URL(url)
    if (u.protocol !== 'mqtt:' && u.protocol !== 'tcp:') throw new MqttSessionError(`unsupported MQTT URL ${url}: use mqtt://host:port`)
    return { url, host: u.hostname || '127.0.0.1', port: Number(u.port || 1883) }
  })
  if (addresses.length === 0) throw new MqttSessionError('no MQTT URL given')
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000
  const keepaliveS = opts.keepaliveS ?? 30
  const maxInflight = opts.maxInflight ?? 50_000
  const minDelay = opts.reconnectMinMs ?? 250
  const maxDelay = opts.reconnectMaxMs ?? 10_000

  let socket: Socket | undefined
  let generation = 0
  // Index into addresses of the next connection attempt; every attempt after the first moves on by one.
  let next = 0
  let inflight = 0
  let stopped = false
  let held = false
  let connected = false
  // When the last connection ended (or the session was made): how long it has been without a broker.
  let downSince = Date.now()
  let delay = minDelay
  let reconnectTimer: NodeJS.Timeout | undefined
  let pingTimer: NodeJS.Timeout | undefined
  let lastSent = 0
  let lastHeard = 0
  let lastPing = 0
  let firstReady: { resolve: () => void; reject: (e: Error) => void } | undefined
  const stats = { connects: 0, disconnects: 0, received: 0, acked: 0, redelivered: 0 }

  const send = (s: Socket, packet: Packet) => {
    lastSent = Date.now()
    s.write(mqttPacket.generate(packet))
  }

  const scheduleReconnect = () => {
    if (stopped || reconnectTimer) return
    const wait = delay
    delay = Math.min(maxDelay, delay * 2)
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined
      if (opts.mayReconnect && !opts.mayReconnect()) scheduleReconnect()
      else open()
    }, wait)
  }

  const open = () => {
    const gen = ++generation
    inflight = 0
    const at = addresses[next % addresses.length]!
    next++
    const s = netConnect({ host: at.host, port: at.port })
    socket = s
    const connectTimer = setTimeout(() => {
      logger.warn('broker did not answer CONNECT in time', { url: redactUrl(at.url), ms: connectTimeoutMs })
      s.destroy()
    }, connectTimeoutMs)
    connectTimer.unref()
    s.setNoDelay(true)
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    let subscribed = false
    const subscribedOn = () => {
      subscribed = true
      connected = true
      delay = minDelay
      stats.connects++
      if (held) s.pause()
      logger.info(opts.subscriptions.length > 0 ? 'subscribed' : 'connected', {
        url: redactUrl(at.url),
        clientId: opts.clientId,
        subscriptions: opts.subscriptions,
      })
      firstReady?.resolve()
      firstReady = undefined
    }

    parser.on('packet', (packet: Packet) => {
      lastHeard = Date.now()
      switch (packet.cmd) {
        case 'connack': {
          clearTimeout(connectTimer)
          if (packet.returnCode !== 0) {
            const reason = connackReasons[packet.returnCode ?? -1] ?? `code ${packet.returnCode}`
            logger.error('broker refused the connection', { reason, clientId: opts.clientId })
            s.destroy()
            return
          }
          // A SUBSCRIBE with no filter is a protocol violation [MQTT-3.8.3-3]: with none, CONNACK is the whole handshake.
          if (opts.subscriptions.length === 0) return void subscribedOn()
          send(s, { cmd: 'subscribe', messageId: 1, subscriptions: opts.subscriptions.map((topic) => ({ topic, qos: 1 })) })
          return
        }
        case 'suback': {
          const refused = packet.granted.map((g, i) => (g === 128 ? opts.subscriptions[i] : undefined)).filter(Boolean)
          if (refused.length > 0) {
            logger.error('broker refused subscriptions', { refused })
            firstReady?.reject(new MqttSessionError(`broker refused subscriptions: ${refused.join(', ')}`))
            firstReady = undefined
            return
          }
          subscribedOn()
          return
        }
        case 'publish': {
          stats.received++
          if (packet.dup) stats.redelivered++
          const messageId = packet.messageId
          let acked = false
          const qos = packet.qos
          if (qos > 0) {
            inflight++
            if (inflight >= maxInflight && !s.isPaused()) s.pause()
          }
          onMessage({
            topic: packet.topic,
            payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
            qos,
            dup: packet.dup,
            retain: packet.retain,
            ack: () => {
              if (acked || qos === 0) return
              acked = true
              if (gen !== generation || s.destroyed) return
              inflight--
              stats.acked++
              // QoS 2 is never granted (we subscribe at 1), but answer it correctly if a broker sends it.
              send(s, qos === 2 ? { cmd: 'pubrec', messageId: messageId! } : { cmd: 'puback', messageId: messageId! })
              if (s.isPaused() && !held && inflight < maxInflight / 2) s.resume()
            },
          })
          return
        }
        case 'pubrel':
          send(s, { cmd: 'pubcomp', messageId: packet.messageId! })
          return
        default:
          return
      }
    })
    parser.on('error', (err: Error) => {
      logger.error('malformed packet from broker', { err })
      s.destroy()
    })

    s.on('connect', () => {
      const password = opts.password?.()
      send(s, {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        // Persistent (unless `clean`): while we are away the broker keeps our QoS 1 messages [MQTT-3.1.2-4].
        clean: opts.clean ?? false,
        clientId: opts.clientId,
        keepalive: keepaliveS,
        ...(opts.will ? { will: { topic: opts.will.topic, payload: Buffer.from(opts.will.payload), qos: 0 as const, retain: opts.will.retain } } : {}),
        ...(opts.username !== undefined ? { username: opts.username } : {}),
        ...(password !== undefined ? { password: Buffer.from(password) } : {}),
      })
    })
    s.on('data', (chunk: Buffer) => parser.parse(chunk))
    s.on('error', (err) => logger.warn('broker connection error', { err: err.message, url: redactUrl(at.url) }))
    s.on('close', () => {
      clearTimeout(connectTimer)
      if (gen !== generation) return
      if (connected) {
        stats.disconnects++
        downSince = Date.now()
      }
      connected = false
      if (!stopped) {
        logger.warn('broker connection closed; reconnecting', {
          url: redactUrl(at.url),
          subscribed,
          inflight,
          ...(addresses.length > 1 ? { nextUrl: redactUrl(addresses[next % addresses.length]!.url) } : {}),
        })
        scheduleReconnect()
      }
    })
  }

  const keepalive = () => {
    const s = socket
    if (!s || !connected) return
    const now = Date.now()
    // While held the socket is not read, so the broker's PINGRESP goes unheard: only check a socket we read.
    if (now - lastHeard > keepaliveS * 1500 && !s.isPaused()) {
      logger.warn('broker silent past keepalive; reconnecting')
      s.destroy()
    } else if (now - lastSent > (keepaliveS * 1000) / 2 || now - Math.max(lastHeard, lastPing) > (keepaliveS * 1000) / 2) {
      // Also when we talk but hear nothing: the health published every few seconds kept lastSent fresh, so in a
      // quiet spell of the devices no PINGREQ went out, no PINGRESP came back, and the session was dropped as dead.
      lastPing = now
      send(s, { cmd: 'pingreq' })
    }
  }

  return {
    stats,
    get connected() {
      return connected
    },
    get inflight() {
      return inflight
    },
    /** Since when this session has had no broker (ms epoch: its last connection's end, or its creation); undefined while connected. */
    get downSince(): number | undefined {
      return connected ? undefined : downSince
    },
    /** Resolves once connected and subscribed; keeps retrying while the broker is unreachable. */
    start(): Promise<void> {
      stopped = false
      pingTimer = setInterval(keepalive, Math.max(250, (keepaliveS * 1000) / 4))
      pingTimer.unref()
      const ready = new Promise<void>((resolve, reject) => (firstReady = { resolve, reject }))
      open()
      return ready
    },
    /** Fire-and-forget QoS 0 publish on the current connection; false when not connected (nothing queued). */
    publish(topic: string, payload: Buffer | string, retain = false): boolean {
      const s = socket
      if (!s || !connected || s.destroyed) return false
      send(s, { cmd: 'publish', topic, payload, qos: 0, retain, dup: false })
      return true
    },
    /**
     * Stops reading new messages until release(), across reconnects (backpressure: the broker keeps the
     * rest in our session's queue). Acknowledgements still go out; keepalive PINGREQs still go out.
     */
    hold(): void {
      held = true
      socket?.pause()
    },
    release(): void {
      held = false
      if (socket?.isPaused() && inflight < maxInflight / 2) socket.resume()
    },
    get held() {
      return held
    },
    /** Stops reading new messages; what is in flight stays unacknowledged until ack() or close. */
    pause(): void {
      socket?.pause()
    },
    /** Sends DISCONNECT and closes; unacknowledged messages stay with the broker for redelivery. */
    async stop(): Promise<void> {
      if (stopped) return
      stopped = true
      clearTimeout(reconnectTimer)
      clearInterval(pingTimer)
      const s = socket
      firstReady?.reject(new MqttSessionError('stopped before connecting'))
      firstReady = undefined
      if (!s || s.destroyed) return
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve())
        if (connected) s.end(mqttPacket.generate({ cmd: 'disconnect' }))
        else s.destroy()
        setTimeout(() => s.destroy(), 1000).unref()
      })
    },
  }
}
export type MqttSession = ReturnType<typeof createMqttSession>
