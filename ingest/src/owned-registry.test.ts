import { describe, expect, it } from 'vitest'
import { loadRegistryFile, partitionOf } from '@mytho/schema'
import { ownedDevicesView } from './owned-registry.ts'

describe('a partitioned worker’s view of the registry', () => {
  it('lists only the devices of owned partitions, and still looks up every device', () => {
    const registry = loadRegistryFile()
    const owned = new Set([0, 3])
    const view = ownedDevicesView(registry, (id) => owned.has(partitionOf(id, 8)))
    expect(view.devices.length).toBeGreaterThan(0)
    expect(view.devices.length).toBeLessThan(registry.devices.length)
    expect(view.devices.every((d) => owned.has(partitionOf(d.id, 8)))).toBe(true)
    const other = registry.devices.find((d) => !owned.has(partitionOf(d.id, 8)))!
    expect(view.get(other.id)).toEqual(other)
    expect(view.size).toBe(registry.size)
    owned.add(5)
    expect(view.devices.some((d) => partitionOf(d.id, 8) === 5)).toBe(true)
  })
})
