/**
 * Which MQTT client ids a credential may use. Aedes (like every MQTT 3.1.1 broker) lets a new connection with a
 * client id take over the session of that id: the older connection is closed and a persistent session, queue and
 * all, is handed over [MQTT-3.1.4-2]. So whoever may use an id may disconnect its holder and read its queue; the
 * id is bound to the credential, and the broker refuses anything else with CONNACK 0x02 [MQTT-3.2.2-3].
 *
 *   device       its device id, or `{deviceId}.{suffix}` for a second connection of its own (suffix: lower-case
 *                letters, digits and dashes, 1–16): device ids never contain a dot, so no device's ids are another's
 *   svc-ingest   `mytho-ingest` or `mytho-ingest-…` (partition sessions `mytho-ingest-p3of8`, links `mytho-ingest-link-…`)
 *   svc-api      `mytho-api` or `mytho-api-…`
 * Device ids may not start with `mytho-` (DEVICE_ID_PATTERN), so no device id falls in a service's range.
 */
export const SERVICE_CLIENT_ID_PREFIXES: Readonly<Record<string, string>> = { 'svc-ingest': 'mytho-ingest', 'svc-api': 'mytho-api' }

/** Every id a service account's prefix covers: `mytho-`. An anonymous development client may not use those either. */
export const RESERVED_CLIENT_ID_PREFIX = 'mytho-'

const DEVICE_CLIENT_SUFFIX = /^[a-z0-9-]{1,16}$/

export function deviceMayUseClientId(deviceId: string, clientId: string): boolean {
  if (clientId === deviceId) return true
  return (
    clientId.length > deviceId.length + 1 &&
    clientId.startsWith(deviceId) &&
    clientId[deviceId.length] === '.' &&
    DEVICE_CLIENT_SUFFIX.test(clientId.slice(deviceId.length + 1))
  )
}

export function serviceMayUseClientId(account: string, clientId: string): boolean {
  const prefix = SERVICE_CLIENT_ID_PREFIXES[account]
  return prefix !== undefined && (clientId === prefix || clientId.startsWith(`${prefix}-`))
}
