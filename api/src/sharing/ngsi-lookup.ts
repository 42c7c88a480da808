import { ngsiEntityId, parseNgsiEntityId, SMART_DATA_MODELS, type AgencyKeyView, type DeviceRecord, type DeviceRegistry } from '@mytho/schema'
import { HttpError } from '../http-errors.ts'
import { inScope } from './agency-auth.ts'

/**
 * The device an entity id names, for a key: 400 when the id is not an NGSI-LD URN of ours, 404 when no device has
 * it (or the type is not its model), 403 when the device is outside the key's kinds or wards. A key learns a device
 * exists outside its scope; it learns nothing else of it.
 */
export function deviceOfEntity(registry: DeviceRegistry, key: AgencyKeyView, id: string): DeviceRecord {
  const parsed = parseNgsiEntityId(id)
  if (!parsed) throw new HttpError(400, `id: ${id} is not an entity id of this platform (urn:ngsi-ld:<Type>:mytho:<deviceId>)`)
  const device = registry.get(parsed.deviceId)
  if (!device || SMART_DATA_MODELS[device.kind].type !== parsed.type) throw new HttpError(404, `no entity ${id}`)
  if (!inScope(key, device))
    throw new HttpError(
      403,
      `entity ${ngsiEntityId(device.kind, device.id)} is outside this key's scope (kinds ${key.scope.kinds.join(', ')}; wards ${key.scope.wards.join(', ')})`,
    )
  return device
}
