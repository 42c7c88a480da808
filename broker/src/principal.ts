import type { Client } from 'aedes'
import { SERVICE_ACCOUNTS } from '@mytho/runtime'

export type ServiceAccount = (typeof SERVICE_ACCOUNTS)[keyof typeof SERVICE_ACCOUNTS]

/** Who is behind an MQTT connection, decided once at CONNECT. */
export type Principal = { kind: 'device'; deviceId: string } | { kind: 'service'; name: ServiceAccount } | { kind: 'anonymous' }

const serviceNames = new Set<string>(Object.values(SERVICE_ACCOUNTS))
export const isServiceAccount = (username: string): username is ServiceAccount => serviceNames.has(username)

/** Kept beside the Aedes client, not on it: Aedes owns that object's fields. */
const principals = new WeakMap<Client, Principal>()

export const principalOf = (client: Client | null | undefined): Principal | undefined => (client ? principals.get(client) : undefined)
export const setPrincipal = (client: Client, principal: Principal): void => void principals.set(client, principal)

export function describePrincipal(p: Principal | undefined): string {
  if (!p) return 'unauthenticated client'
  return p.kind === 'device' ? `device ${p.deviceId}` : p.kind === 'service' ? `service ${p.name}` : 'anonymous client'
}
