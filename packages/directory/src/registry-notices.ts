import { z } from 'zod'
import { PLATFORM_ROOT } from '@mytho/schema'

/**
 * Provisioning changes reach the broker as a small notice on this topic. The API and the broker are
 * separate processes in production; the API writes the metadata store first and then publishes here
 * (only svc-api may: the broker's authorize.ts), and the broker, subscribed in-process, drops the device's
 * live connections at once (the broker's registry-notices.ts). A notice lost while the broker was down loses
 * nothing: every CONNECT reads the credential row, so a disabled device or an old secret is refused anyway.
 * The API nodes listen too and re-read the device directory at once (registry-follow.ts), so the map has the
 * change; every service also re-reads it every few seconds, which heals a lost notice.
 */
export const REGISTRY_NOTICE_TOPIC = `${PLATFORM_ROOT}/registry`

export const RegistryNotice = z.object({
  op: z.enum(['created', 'rotated', 'disabled', 'enabled', 'moved', 'published']),
  deviceId: z.string().min(1).max(64),
})
export type RegistryNotice = z.infer<typeof RegistryNotice>
