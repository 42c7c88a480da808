import type { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls'
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net'
import { Aedes } from 'aedes'
import { createWebSocketStream, WebSocketServer } from 'ws'
import { openCredentialsFromConfig, type CredentialStore } from '@mytho/directory'
import { once, silentLogger, type Logger } from '@mytho/runtime'
import { loadRegistryFile, type DeviceRegistry } from '@mytho/schema'
import { createAuthenticationHooks } from './authenticate.ts'
import { createAuthorizationHooks } from './authorize.ts'
import type { BrokerConfig } from './config.ts'
import { serviceAccessPolicy, setOrigin, type ConnectionOrigin } from './connection-origin.ts'
import { guardConnection } from './aedes-patches/guarded-connection.ts'
import type { PacketLimits, PacketRefusedError } from './packet-guard.ts'
import { deliverAtHighestGrant, downgradeToGrantedQos } from './aedes-patches/qos-downgrade.ts'
import { deliverOwnPartitionOnly, filterQueuedByPartition, ownPartitionForward } from './aedes-patches/ingest-partitions.ts'
import { openPersistence } from './persistence.ts'
import { openClusterPersistence } from './cluster.ts'
import { markRedeliveries } from './aedes-patches/redelivery-dup.ts'
import { pubackAfterPublish } from './aedes-patches/puback-after-publish.ts'
import { deliverStraightToSoleHandler, type StraightDelivery } from './aedes-patches/straight-to-sole-handler.ts'
import { createPublishRateLimit } from './publish-rate.ts'
import { count, createStats, type BrokerStats } from './refusals.ts'
import { createPipelineGate } from './pipeline-gate.ts'
import { listenForRegistryNotices } from './registry-notices.ts'
import { seedCredentials } from './seed-credentials.ts'

export type BrokerOptions = Pick<
  BrokerConfig,
  | 'DATA_DIR'
  | 'MQTT_PORT'
  | 'MQTT_HOST'
  | 'MQTT_WS_PORT'
  | 'MQTT_ALLOW_ANONYMOUS'
  | 'MQTT_SERVICE_NETS'
  | 'MQTT_MAX_PACKET_BYTES'
  | 'MQTT_MAX_PRECONNECT_BYTES'
  | 'MQTT_MAX_TOPIC_LENGTH'
  | 'MQTT_MAX_TOPIC_LEVELS'
  | 'SEED_DEMO_SECRETS'
  | 'INGEST_MQTT_PASSWORD'
  | 'API_MQTT_PASSWORD'
  | 'DEVICE_REGISTRY_FILE'
> &
  Partial<Pick<BrokerConfig, 'MQTT_INTERNAL_PORT' | 'MQTT_INTERNAL_HOST'>> &
  Partial<Pick<BrokerConfig, 'MQTT_TLS_PORT' | 'MQTT_TLS_CERT' | 'MQTT_TLS_KEY' | 'MQTT_MAX_PUBLISH_PER_S' | 'MQTT_PUBLISH_BURST'>> &
  Partial<Pick<BrokerConfig, 'MQTT_PERSISTENCE' | 'REDIS_URL' | 'MQTT_CLUSTER_HEARTBEAT_MS'>>

export interface BrokerDeps {
  /** Default: silent. */
  logger?: Logger
  /** Default: the file DEVICE_REGISTRY_FILE names, else the seed fleet. */
  registry?: DeviceRegistry
  /**
   * Default: openCredentialsFromConfig (on REDIS_URL when set, shared by every node of the cluster, else
   * `${DATA_DIR}/meta.sqlite`); opened and closed by the broker. One passed in is left open.
   */
  credentials?: CredentialStore
  /** Receive time for `rxTs`, epoch ms. Default Date.now. */
  clock?: () => number
  /**
   * A subscriber inside this process (`aedes.subscribe`) calls back each device message only once it has kept it
   * (stored it, say), and a device's QoS 1 PUBACK waits for that: it is written after the publish, and so after every
   * in-process handler called back, in every persistence (puback-after-publish.ts). Aedes runs at most `concurrency`
   * publishes at a time broker-wide (default 100), each now lasting as long as its slowest handler, so the cap would
   * be throughput: it is lifted, and what is in flight stays bounded by each connection's one read chunk. Only without
   * REDIS_URL: a cluster's emitter calls back once Redis took the message, not once this process's handlers did.
   * Default false.
   */
  pubackAfterInProcessHandlers?: boolean
}

export interface BrokerAddresses {
  mqttPort: number
  /** Undefined when MQTT_WS_PORT=off. */
  wsPort: number | undefined
  /** MQTT over TLS; undefined unless MQTT_TLS_CERT and MQTT_TLS_KEY are set. */
  tlsPort?: number | undefined
  /** The services' listener; undefined unless MQTT_INTERNAL_PORT is set. */
  internalPort?: number | undefined
}

export interface Broker {
  start(): Promise<BrokerAddresses>
  stop(): Promise<void>
  readonly aedes: Aedes
  readonly stats: BrokerStats
  /**
   * With pubackAfterInProcessHandlers: `aedes.subscribe` for a handler in this process that calls back once it kept a
   * message. A client's QoS 1 publish that only this handler receives goes to it straight, not through Aedes's
   * publish (aedes-patches/straight-to-sole-handler.ts). Undefined otherwise.
   */
  readonly inProcess: StraightDelivery | undefined
}

/** The subprotocol names MQTT over WebSocket uses: `mqtt` (3.1.1), `mqttv3.1` (3.1). */
const MQTT_SUBPROTOCOLS = ['mqtt', 'mqttv3.1']

/**
 * The city's MQTT broker: Aedes on TCP and WebSocket, every connection behind the packet guard,
 * devices authenticated against the credential store and authorized by topic.
 *
 * Aedes is created here (its heartbeat timer runs from now on); start() seeds credentials and
 * listens; stop() closes listeners, drops every client, closes Aedes and the credential store.
 */
export async function createBroker(config: BrokerOptions, deps: BrokerDeps = {}): Promise<Broker> {
  if (deps.pubackAfterInProcessHandlers && config.REDIS_URL !== undefined)
    throw new Error('pubackAfterInProcessHandlers needs a standalone broker: unset REDIS_URL')
  const logger = deps.logger ?? silentLogger
  const clock = deps.clock ?? Date.now
  const registry = deps.registry ?? loadRegistryFile(config.DEVICE_REGISTRY_FILE)
  const stats = createStats()
  const gate = createPipelineGate({ logger })
  const credentials = deps.credentials ?? openCredentialsFromConfig(config, { logger: logger.child({ part: 'credentials' }) })
  const limits: PacketLimits = {
    maxPacketBytes: config.MQTT_MAX_PACKET_BYTES,
    maxPreconnectBytes: config.MQTT_MAX_PRECONNECT_BYTES,
    maxTopicBytes: config.MQTT_MAX_TOPIC_LENGTH,
    maxTopicLevels: config.MQTT_MAX_TOPIC_LEVELS,
  }

  let aedes: Aedes
  // Opened before Aedes so a persistent session's queue is there for the first reconnect; closed after it.
  // With REDIS_URL, in Redis, shared with the other nodes of the cluster (cluster.ts).
  const sessions =
    config.REDIS_URL !== undefined
      ? await openClusterPersistence({ redisUrl: config.REDIS_URL, heartbeatMs: config.MQTT_CLUSTER_HEARTBEAT_MS ?? 15_000 }, { logger })
      : await openPersistence(config.MQTT_PERSISTENCE ?? 'memory', config.DATA_DIR)
  try {
    const authentication = createAuthenticationHooks(
      { allowAnonymous: config.MQTT_ALLOW_ANONYMOUS, serviceAllowedFrom: serviceAccessPolicy(config.MQTT_SERVICE_NETS) },
      { registry, credentials, stats, logger },
    )
    aedes = await Aedes.createBroker({
      ...(sessions.persistence ? { persistence: sessions.persistence } : {}),
      ...sessions.aedesOptions,
      ...authentication,
      preConnect(client, packet, callback) {
        deliverAtHighestGrant(client)
        deliverOwnPartitionOnly(client, packet.clientId)
        authentication.preConnect(client, packet, callback)
      },
      ...createAuthorizationHooks(
        { maxTopicBytes: limits.maxTopicBytes, maxTopicLevels: limits.maxTopicLevels },
        { stats, logger, clock, gate, publishRate: createPublishRateLimit(config.MQTT_MAX_PUBLISH_PER_S ?? 0, config.MQTT_PUBLISH_BURST ?? 100) },
      ),
      authorizeForward: ownPartitionForward(downgradeToGrantedQos),
      // 0 = no cap (mqemitter); see BrokerDeps.pubackAfterInProcessHandlers.
      ...(deps.pubackAfterInProcessHandlers ? { concurrency: 0 } : {}),
    })
  } catch (err) {
    if (!deps.credentials) await credentials.close()
    await sessions.close()
    throw err
  }
  // Before the persistence's attach: puback-after-publish.ts wraps the publish this makes.
  const inProcess = deps.pubackAfterInProcessHandlers ? deliverStraightToSoleHandler(aedes) : undefined
  markRedeliveries(aedes)
  // An ingest partition session's queue holds only its own devices' messages (ingest-partitions.ts).
  filterQueuedByPartition((aedes as unknown as { persistence: object }).persistence)
  sessions.attach(aedes)
  // The on-disk and cluster persistences wrap it already (their attach); in memory Aedes 1.2 acknowledges first.
  if (deps.pubackAfterInProcessHandlers && (config.MQTT_PERSISTENCE ?? 'memory') === 'memory') pubackAfterPublish(aedes)
  aedes.on('clientError', (client, err) => logger.debug('client error', { clientId: client.id, err: err.message }))
  aedes.on('connectionError', (_client, err) => logger.debug('connection error', { err: err.message }))
  aedes.on('client', (client) => logger.debug('client connected', { clientId: client.id }))
  aedes.on('clientDisconnect', (client) => logger.debug('client disconnected', { clientId: client.id }))
  // Aedes emits 'error' for persistence failures; unheard, it would end the process.
  ;(aedes as EventEmitter).on('error', (err: unknown) => logger.error('aedes error', { err }))

  const onRefused = (err: PacketRefusedError, who: { remoteAddress: string | undefined; clientId: string | undefined }) => {
    count(err.beforeConnect ? stats.connectionsRefused : stats.packetsRefused, err.reason)
    logger.warn('connection closed by packet guard', { reason: err.reason, detail: err.message, remote: who.remoteAddress, clientId: who.clientId })
  }

  // TCP. Sockets are tracked so stop() can drop those that never sent CONNECT (Aedes only knows clients).
  const sockets = new Set<Socket>()
  const handleSocket = (listener: ConnectionOrigin['listener']) => (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.setNoDelay(true)
    setOrigin(socket, { listener, remoteAddress: socket.remoteAddress })
    guardConnection(socket, limits, `${socket.remoteAddress}:${socket.remotePort}`, onRefused)
    aedes.handle(socket)
  }
  const tcp: TcpServer = createTcpServer(handleSocket('tcp'))
  // The services' own listener (MQTT_INTERNAL_PORT): the same broker, where service accounts are let in from anywhere.
  const internal: TcpServer | undefined = config.MQTT_INTERNAL_PORT !== undefined ? createTcpServer(handleSocket('internal')) : undefined

  // TLS: the same handler as TCP behind a TLS handshake; only when both PEM files are configured.
  const tls: TlsServer | undefined =
    config.MQTT_TLS_CERT !== undefined && config.MQTT_TLS_KEY !== undefined
      ? createTlsServer({ cert: readFileSync(config.MQTT_TLS_CERT), key: readFileSync(config.MQTT_TLS_KEY) }, handleSocket('tls'))
      : undefined
  tls?.on('tlsClientError', (err) => logger.debug('tls handshake failed', { err: err.message }))

  // WebSocket. maxPayload caps one WebSocket message at the MQTT packet limit, checked on the frame
  // header: ws buffers a whole message before the guard sees any of it. (A client that batches
  // several packets into one message must keep the batch under the limit too; MQTT.js sends one
  // message per write.)
  let http: HttpServer | undefined
  let wss: WebSocketServer | undefined
  if (config.MQTT_WS_PORT !== undefined) {
    http = createHttpServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket' })
      res.end('MQTT over WebSocket: connect to /mqtt with subprotocol "mqtt"\n')
    })
    wss = new WebSocketServer({
      server: http,
      path: '/mqtt',
      maxPayload: config.MQTT_MAX_PACKET_BYTES,
      handleProtocols: (offered) => MQTT_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
    })
    wss.on('error', (err) => logger.error('websocket server error', { err }))
    wss.on('connection', (ws, req) => {
      const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`
      const conn = createWebSocketStream(ws)
      setOrigin(conn, { listener: 'ws', remoteAddress: req.socket.remoteAddress })
      const guard = guardConnection(conn, limits, remote, onRefused)
      ws.on('error', (err: Error & { code?: string }) => {
        if (err.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || guard.refused) return
        count(guard.sessionStarted ? stats.packetsRefused : stats.connectionsRefused, 'packet-too-large')
        logger.warn('connection closed by packet guard', {
          reason: 'packet-too-large',
          detail: `WebSocket message over ${config.MQTT_MAX_PACKET_BYTES} bytes`,
          remote,
        })
      })
      aedes.handle(conn, req)
    })
  }

  return {
    aedes,
    stats,
    inProcess,

    async start() {
      await seedCredentials(
        {
          dataDir: config.DATA_DIR,
          seedDemoSecrets: config.SEED_DEMO_SECRETS,
          ingestPassword: config.INGEST_MQTT_PASSWORD,
          apiPassword: config.API_MQTT_PASSWORD,
        },
        registry,
        credentials,
        logger,
      )
      const mqttPort = await listen(tcp, config.MQTT_PORT, config.MQTT_HOST)
      const wsPort = http ? await listen(http, config.MQTT_WS_PORT!, config.MQTT_HOST) : undefined
      const tlsPort = tls ? await listen(tls, config.MQTT_TLS_PORT ?? 8883, config.MQTT_HOST) : undefined
      const internalPort = internal ? await listen(internal, config.MQTT_INTERNAL_PORT!, config.MQTT_INTERNAL_HOST ?? '127.0.0.1') : undefined
      await listenForRegistryNotices(aedes, { logger })
      await gate.listen(aedes)
      logger.info('broker listening', {
        mqttPort,
        wsPort,
        internalPort,
        host: config.MQTT_HOST,
        devices: registry.size,
        anonymous: config.MQTT_ALLOW_ANONYMOUS,
      })
      return { mqttPort, wsPort, ...(tlsPort !== undefined ? { tlsPort } : {}), ...(internalPort !== undefined ? { internalPort } : {}) }
    },

    stop: once(async () => {
      gate.releaseAll()
      const closed = [closeServer(tcp), ...(http ? [closeServer(http)] : []), ...(tls ? [closeServer(tls)] : []), ...(internal ? [closeServer(internal)] : [])]
      wss?.close()
      for (const ws of wss?.clients ?? []) ws.terminate()
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      for (const s of sockets) s.destroy()
      http?.closeAllConnections()
      await Promise.all(closed)
      await sessions.close()
      if (!deps.credentials) await credentials.close()
    }),
  }
}

function listen(server: TcpServer | HttpServer | TlsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err)
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

/** Resolves once the server is closed, or at once when it never listened. */
function closeServer(server: TcpServer | HttpServer | TlsServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}
