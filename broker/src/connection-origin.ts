import { BlockList } from 'node:net'
import type { Client } from 'aedes'

/** Which listener a connection came in on, and from where: decided by the socket, never by what the client says. */
export interface ConnectionOrigin {
  listener: 'tcp' | 'tls' | 'ws' | 'internal'
  remoteAddress: string | undefined
}

/** Keyed by the stream handed to aedes.handle(), which Aedes keeps as `client.conn`. */
const origins = new WeakMap<object, ConnectionOrigin>()

export const setOrigin = (conn: object, origin: ConnectionOrigin): void => void origins.set(conn, origin)
export const originOf = (client: Client): ConnectionOrigin | undefined => origins.get((client as unknown as { conn: object }).conn)

export interface ServiceNet {
  address: string
  prefix: number
  family: 'ipv4' | 'ipv6'
}

/**
 * Where the platform's service accounts may log in: any connection on the internal listener; on TCP and TLS only from
 * the configured networks; never over WebSocket (see MQTT_SERVICE_NETS).
 */
export function serviceAccessPolicy(nets: readonly ServiceNet[]): (origin: ConnectionOrigin | undefined) => boolean {
  const allowed = new BlockList()
  for (const n of nets) allowed.addSubnet(n.address, n.prefix, n.family)
  return (origin) => {
    if (!origin) return false
    if (origin.listener === 'internal') return true
    if (origin.listener === 'ws' || origin.remoteAddress === undefined) return false
    // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(origin.remoteAddress)?.[1]
    return v4 !== undefined ? allowed.check(v4, 'ipv4') : allowed.check(origin.remoteAddress, origin.remoteAddress.includes(':') ? 'ipv6' : 'ipv4')
  }
}
