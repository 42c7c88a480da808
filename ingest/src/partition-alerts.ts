import { partitionOf, type DeviceRegistry } from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import type { ReadingStore } from '@mytho/storage'
import type { Alerting } from './alerting.ts'

/**
 * Alert state moves with a partition's devices: the worker handing them over saves their holds, the one taking
 * them reads them again from the shared incident store, with their latest stored reading for the silence rule.
 */
export function partitionAlertMover(deps: {
  alerting: Alerting | undefined
  registry: DeviceRegistry
  store: ReadingStore
  partitions: number
  logger: Logger
}) {
  const { alerting, registry, store, partitions, logger: log } = deps
  return (index: number, event: 'acquired' | 'released' | 'lost'): void => {
    if (!alerting) return
    const ids = new Set(registry.devices.filter((d) => partitionOf(d.id, partitions) === index).map((d) => d.id))
    if (event === 'acquired') alerting.acquire(ids)
    else alerting.release(ids, { save: event === 'released' })
    if (event === 'acquired')
      store.latest().then(
        (latest) => alerting.engine.hydrate(latest.filter((r) => ids.has(r.deviceId))),
        (err: unknown) => log.warn('latest readings of a taken partition not read', { partition: index, err: (err as Error).message }),
      )
  }
}
