import type { AedesOptions, AuthenticateError, Client, ConnectPacket } from 'aedes'
import type { CredentialStore, VerifyResult } from '@mytho/directory'
import type { Logger } from '@mytho/runtime'
import { deviceMayUseClientId, RESERVED_CLIENT_ID_PREFIX, serviceMayUseClientId, type DeviceRegistry } from '@mytho/schema'
import { canPublish } from './authorize.ts'
import { originOf, type ConnectionOrigin } from './connection-origin.ts'
import { describePrincipal, isServiceAccount, setPrincipal, type Principal } from './principal.ts'
import { count, type BrokerStats, type RefusalReason } from './refusals.ts'

export interface AuthenticationOptions {
  /** Development only: clients without a user name connect with full access. */
  allowAnonymous: boolean
  /** Whether a service account may log in over this connection (connection-origin.ts). Default: from anywhere. */
  serviceAllowedFrom?: (origin: ConnectionOrigin | undefined) => boolean
}

export interface AuthenticationDeps {
  registry: DeviceRegistry
  credentials: CredentialStore
  stats: BrokerStats
  logger: Logger
}

/** CONNACK return codes [MQTT-3.2.2.3]. */
const IDENTIFIER_REJECTED = 2
const SERVER_UNAVAILABLE = 3
const BAD_USERNAME_OR_PASSWORD = 4
const NOT_AUTHORIZED = 5
type ReturnCode = typeof IDENTIFIER_REJECTED | typeof SERVER_UNAVAILABLE | typeof BAD_USERNAME_OR_PASSWORD | typeof NOT_AUTHORIZED

/** What authenticate needs from CONNECT but Aedes does not pass it (it has already replaced an empty client id). */
interface ConnectFacts {
  emptyClientId: boolean
  clean: boolean
  protocolVersion: number
  willTopic: string | undefined
}

/**
 * Aedes's preConnect and authenticate hooks. Aedes turns `error.returnCode` (2–5) into the CONNACK
 * return code and then closes the connection [MQTT-3.2.2-5]; any other error becomes 5.
 */
export function createAuthenticationHooks(opts: AuthenticationOptions, deps: AuthenticationDeps): Required<Pick<AedesOptions, 'preConnect' | 'authenticate'>> {
  const { registry, credentials, stats, logger } = deps
  const facts = new WeakMap<Client, ConnectFacts>()

  const refusal = (client: Client, returnCode: ReturnCode, reason: RefusalReason, message: string, fields: Record<string, unknown> = {}): AuthenticateError => {
    count(stats.connectionsRefused, reason)
    logger.info('connection refused', { reason, returnCode, clientId: client.id, remote: (client.conn as { remoteAddress?: string }).remoteAddress, ...fields })
    return Object.assign(new Error(message), { returnCode: returnCode as AuthenticateError['returnCode'] })
  }

  async function identify(client: Client, username: string | undefined, password: Buffer | undefined): Promise<Principal | AuthenticateError> {
    const f = facts.get(client)
    // [MQTT-3.1.3-8] a zero-byte client id with CleanSession=0 is refused with 0x02; Aedes 1.2 would
    // invent an id for it. MQTT 3.1 (protocol level 3) requires 1–23 characters, so refuse it there too.
    if (f?.emptyClientId && (!f.clean || f.protocolVersion === 3))
      return refusal(client, IDENTIFIER_REJECTED, 'client-id-rejected', 'a zero-length client id needs CleanSession=1 [MQTT-3.1.3-8]')

    let principal: Principal
    if (username === undefined) {
      if (!opts.allowAnonymous) return refusal(client, NOT_AUTHORIZED, 'anonymous', 'anonymous clients are not allowed')
      if (client.id.startsWith(RESERVED_CLIENT_ID_PREFIX))
        return refusal(client, IDENTIFIER_REJECTED, 'client-id-not-own', `client id ${client.id} is reserved for the platform's services`)
      principal = { kind: 'anonymous' }
    } else {
      if (isServiceAccount(username)) {
        // Checked before the password: a service account outside the platform's network is refused whatever it knows.
        const origin = originOf(client)
        if (opts.serviceAllowedFrom && !opts.serviceAllowedFrom(origin))
          return refusal(client, NOT_AUTHORIZED, 'service-not-internal', `${username} may log in only on the internal listener or from MQTT_SERVICE_NETS`, {
            username,
            listener: origin?.listener,
          })
        principal = { kind: 'service', name: username }
      }
      // A device is known by the registry file or, when an admin provisioned it later, by its credential row.
      else {
        let known: boolean
        try {
          known = registry.get(username) !== undefined || (await credentials.roleOf(username)) === 'device'
        } catch (err) {
          logger.error('credential check failed', { err, username })
          return refusal(client, SERVER_UNAVAILABLE, 'credential-store-error', 'credential store unavailable', { username })
        }
        if (!known) return refusal(client, BAD_USERNAME_OR_PASSWORD, 'unknown-username', `unknown user ${username}`, { username })
        principal = { kind: 'device', deviceId: username }
      }
      // The client id is bound to the credential (client-ids.ts): otherwise one device could take over, disconnect or
      // read the queue of another's (or the ingest's) session [MQTT-3.1.4-2].
      const own =
        principal.kind === 'device'
          ? !f?.emptyClientId && deviceMayUseClientId(principal.deviceId, client.id)
          : !f?.emptyClientId && serviceMayUseClientId(username, client.id)
      if (!own)
        return refusal(
          client,
          IDENTIFIER_REJECTED,
          'client-id-not-own',
          `${describePrincipal(principal)} may not use client id ${f?.emptyClientId ? '(empty)' : client.id}`,
          { username },
        )
      let verdict: VerifyResult
      try {
        verdict = await credentials.verify(username, password)
      } catch (err) {
        logger.error('credential check failed', { err, username })
        return refusal(client, SERVER_UNAVAILABLE, 'credential-store-error', 'credential store unavailable', { username })
      }
      if (verdict === 'unknown') return refusal(client, BAD_USERNAME_OR_PASSWORD, 'unknown-username', `no credential for ${username}`, { username })
      if (verdict === 'bad') return refusal(client, BAD_USERNAME_OR_PASSWORD, 'bad-password', `wrong password for ${username}`, { username })
      if (verdict === 'disabled') return refusal(client, NOT_AUTHORIZED, 'disabled', `${username} is disabled`, { username })
    }
    // Aedes checks a Will with authorizePublish only when it fires, and then drops it silently;
    // refusing it here tells a misconfigured device at once.
    if (f?.willTopic !== undefined && !canPublish(principal, f.willTopic))
      return refusal(client, NOT_AUTHORIZED, 'will-not-allowed', `${describePrincipal(principal)} may not set a Will on ${f.willTopic}`, {
        willTopic: f.willTopic,
      })
    return principal
  }

  return {
    preConnect(client: Client, packet: ConnectPacket, callback) {
      facts.set(client, {
        emptyClientId: !packet.clientId,
        clean: packet.clean !== false,
        protocolVersion: packet.protocolVersion ?? 4,
        willTopic: packet.will?.topic,
      })
      callback(null, true)
    },

    authenticate(client, username, password, done) {
      identify(client, username, password).then(
        (result) => {
          facts.delete(client)
          if (result instanceof Error) return done(result, false)
          setPrincipal(client, result)
          logger.debug('client authenticated', { clientId: client.id, who: describePrincipal(result) })
          done(null, true)
        },
        (err: unknown) =>
          done(
            Object.assign(err instanceof Error ? err : new Error(String(err)), { returnCode: SERVER_UNAVAILABLE as AuthenticateError['returnCode'] }),
            false,
          ),
      )
    },
  }
}
