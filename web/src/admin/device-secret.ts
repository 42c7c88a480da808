import type { DeviceKind } from '@mytho/schema/kinds'
import { type Broker, mosquittoPub } from './mosquitto-line.ts'
import { fill } from '../i18n/admin.ts'
import { dt } from '../i18n/admin-devices.ts'
import { el, button } from './dom.ts'

async function copy(text: string, status: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text)
    status.textContent = dt('copied')
  } catch {
    status.textContent = dt('copyFailed')
  }
}

let copyables = 0

/** One read-only value with its copy button; the field is selectable by hand where the clipboard is refused. */
export function copyable(label: string, value: string, className: string, multiline = className === 'dev-command'): HTMLElement {
  const wrap = el('div', { className: `dev-copy ${className}` })
  const id = `dev-copy-${++copyables}`
  const l = el('label', { text: label })
  l.htmlFor = id
  const field = el(multiline ? 'textarea' : 'input', { className: 'dev-copy-value' }) as HTMLInputElement | HTMLTextAreaElement
  field.id = id
  field.readOnly = true
  field.value = value
  field.spellcheck = false
  if (field instanceof HTMLTextAreaElement) field.rows = 3
  const status = el('span', { className: 'dev-copy-status' })
  status.setAttribute('role', 'status')
  wrap.append(
    l,
    field,
    button(dt('copy'), 'dev-copy-btn', () => void copy(value, status)),
    ' ',
    status,
  )
  return wrap
}

/** Hosts that show a secret now: leaving the page clears them all, so the back button cannot bring one back. */
const showing = new Set<HTMLElement>()
const clearSecrets = (host: HTMLElement) => {
  host.replaceChildren()
  host.hidden = true
  showing.delete(host)
}
addEventListener('pagehide', () => {
  for (const host of showing) clearSecrets(host)
})

/**
 * Shows a device's new secret once, in `host`, with a ready mosquitto_pub line: the API keeps only its hash, and the
 * page keeps it nowhere but here, so closing the panel, leaving the page (the browser's back-forward cache would
 * otherwise show it again) or reloading is the end of it.
 */
export function showSecrets(host: HTMLElement, broker: Broker, secrets: { deviceId: string; secret: string; kind: DeviceKind }[], heading?: string): void {
  const box = el('div', { className: 'dev-secret' })
  box.setAttribute('role', 'alert')
  box.append(
    el('h3', { text: heading ?? fill(dt('secretHeading'), { id: secrets[0]?.deviceId ?? '' }) }),
    el('p', { className: 'dev-warning', text: dt('secretWarning') }),
  )
  // The platform's private CA (MQTT_PUBLIC_CA_FILE): the line's --cafile names this download, from the same session.
  if (broker.ca) {
    const link = el('a', { text: fill(dt('caDownload'), { file: broker.ca.fileName }) })
    link.href = broker.ca.url
    link.download = broker.ca.fileName
    const p = el('p', { className: 'dev-ca' })
    p.append(link, ' ', el('span', { className: 'dev-ca-hint', text: dt('caHint') }))
    box.append(p)
  }
  for (const s of secrets) {
    const one = el('div', { className: 'dev-secret-one' })
    one.dataset['deviceId'] = s.deviceId
    if (secrets.length > 1) one.append(el('h4', { text: s.deviceId }))
    one.append(copyable(dt('secret'), s.secret, 'dev-secret-value'), copyable(dt('command'), mosquittoPub(s.deviceId, s.secret, s.kind, broker), 'dev-command'))
    box.append(one)
  }
  const close = button(dt('closeSecret'), 'primary dev-secret-close', () => clearSecrets(host))
  box.append(close)
  host.replaceChildren(box)
  host.hidden = false
  showing.add(host)
  box.querySelector<HTMLElement>('.dev-copy-btn')?.focus()
}
