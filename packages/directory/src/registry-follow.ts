import type { DeviceRegistry } from '@mytho/schema'
import { silentLogger, type Logger } from '@mytho/runtime'
import { recordOf, type DeviceDirectory } from './device-directory.ts'

/** How often a follower re-reads the store when no notice came: the longest a missed notice can delay a change. */
export const REGISTRY_RESYNC_MS = 3_000

export interface RegistryFollower {
  /** Re-reads the store now (a registry notice, a feed reconnect); resolves once the registry has it. */
  resync(): Promise<void>
  /** The first read, whose failure is the caller's (a service that cannot read its registry does not start). */
  load(): Promise<void>
  close(): Promise<void>
}

/**
 * Keeps a running service's registry equal to the device directory: provisioned and enabled devices, with their
 * current records. A notice (the API's own change, `mytho/v1/platform/registry` on MQTT) asks for a re-read at once;
 * the timer re-reads every `intervalMs` anyway, so a notice lost on the way (MQTT down, a node that was
 * reconnecting, a service that does not listen) delays a change by seconds, never until a restart. The same on
 * SQLite and Redis: it reads through DeviceDirectory. A disabled device leaves the registry, so every ingest
 * refuses its readings; the broker refuses its connection on its own (every CONNECT reads the credential row).
 */
export function followDirectory(
  directory: Pick<DeviceDirectory, 'list'>,
  registry: DeviceRegistry,
  options: { intervalMs?: number; logger?: Logger; closeDirectory?: () => Promise<void> } = {},
): RegistryFollower {
  const logger = options.logger ?? silentLogger
  let running: Promise<void> | undefined
  let again = false
  let closed = false
  let failing = false

  const apply = async () => {
    const devices = await directory.list()
    const changed = registry.replace(devices.filter((d) => !d.disabled).map(recordOf))
    if (changed.length > 0) logger.info('device registry changed', { devices: changed.length, ids: changed.slice(0, 20) })
  }
  const readOnce = async () => {
    try {
      await apply()
      if (failing) logger.info('device directory readable again')
      failing = false
    } catch (err) {
      // Logged once per outage: the timer keeps trying, and the registry keeps its last good copy meanwhile.
      if (!failing) logger.warn('re-reading the device directory failed; keeping the last copy', { err })
      failing = true
    }
  }
  // One read at a time; a request during a read gets one more read after it, so no change is read too early.
  const resync = (): Promise<void> => {
    if (closed) return Promise.resolve()
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      do {
        again = false
        await readOnce()
      } while (again && !closed)
    })().finally(() => {
      running = undefined
    })
    return running
  }
  const timer = setInterval(() => void resync(), options.intervalMs ?? REGISTRY_RESYNC_MS)
  timer.unref()
  return {
    resync,
    load: apply,
    async close() {
      closed = true
      clearInterval(timer)
      await running
      await options.closeDirectory?.()
    },
  }
}
