import type { DeviceRegistry } from '@mytho/schema'

/*
 * The registry as a partitioned worker's alert engine sees it: every device can be looked up (names for
 * notifications, a reading of a device taken over a moment ago), but `devices`, which the engine walks on every
 * tick to judge silence, lists only the devices this worker owns now. Otherwise each worker would see the other
 * workers' devices fall silent and raise `device-silent` for all of them.
 */
export function ownedDevicesView(registry: DeviceRegistry, owns: (deviceId: string) => boolean): DeviceRegistry {
  return new Proxy(registry, {
    get(target, key) {
      if (key === 'devices') return target.devices.filter((d) => owns(d.id))
      const value: unknown = Reflect.get(target, key, target)
      // DeviceRegistry keeps its state in #private fields: its methods must run on the registry itself.
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    },
  })
}
