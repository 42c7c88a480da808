import type { AgencyKeyCreated } from '@mytho/schema/agency-keys'
import type { DeviceKind } from '@mytho/schema/kinds'
import { SMART_DATA_MODELS } from '@mytho/schema/ngsi-ld'
import { fill } from '../i18n/admin.ts'
import { kt } from '../i18n/admin-agency-keys.ts'
import { copyable } from './device-secret.ts'
import { button, el } from './dom.ts'
import { sh } from './mosquitto-line.ts'

/**
 * The agency's first request (docs/sharing.md): every entity of the key's kinds it may read, as plain values. The
 * origin is the page's own, which is where the sharing interface is served; no cookie, a key is all it takes.
 */
export function curlLine(origin: string, key: string, kinds: readonly DeviceKind[]): string {
  const types = kinds.map((k) => SMART_DATA_MODELS[k].type).join(',')
  return `curl -s -H ${sh(`Authorization: Bearer ${key}`)} ${sh(`${origin}/ngsi-ld/v1/entities?type=${types}&options=keyValues&limit=1000`)}`
}

/**
 * Shows a new agency key once, in `host`, with its curl line. The API keeps only the key's hash and the page keeps it
 * nowhere but these nodes: `clear` (the close button, leaving the page) removes them, so it cannot come back.
 */
export function showAgencyKey(host: HTMLElement, created: AgencyKeyCreated, origin: string, onClose: () => void): void {
  const { key, agencyKey } = created
  const box = el('div', { className: 'dev-secret ak-shown' })
  box.setAttribute('role', 'alert')
  box.dataset['keyId'] = agencyKey.id
  box.append(
    el('h3', { text: fill(kt('shownHeading'), { name: agencyKey.name, agency: agencyKey.agency }) }),
    el('p', { className: 'dev-warning', text: kt('shownWarning') }),
    copyable(kt('key'), key, 'ak-key', false),
    copyable(kt('curl'), curlLine(origin, key, agencyKey.scope.kinds), 'ak-curl', true),
    button(kt('closeShown'), 'primary ak-shown-close', () => {
      clearShown(host)
      onClose()
    }),
  )
  host.replaceChildren(box)
  host.hidden = false
  box.querySelector<HTMLElement>('.dev-copy-btn')?.focus()
}

export function clearShown(host: HTMLElement): void {
  host.replaceChildren()
  host.hidden = true
}
