import type { Incident } from './schema.ts'
import type { App } from './app.ts'
import { $ } from './dom.ts'
import { formatLocalTime } from './format.ts'
import { getLang, t } from './i18n/index.ts'
import { createAckDialog } from './incidents-ack.ts'
import { acknowledgerText } from './incidents-actor.ts'
import { deviceOf } from './incidents-store.ts'

/** Ages are re-rendered this often, ms ("12 phút trước" changes once a minute). */
const AGE_TICK_MS = 60_000

/** "12 phút trước" / "12 min ago"; whole minutes, so it only needs a tick a minute. */
export function formatAgo(since: number, now = Date.now()): string {
  const min = Math.max(0, Math.floor((now - since) / 60_000))
  if (min < 1) return t('agoNow')
  if (min < 60) return t('agoMin').replace('{m}', String(min))
  if (min < 24 * 60)
    return t('agoHour')
      .replace('{h}', String(Math.floor(min / 60)))
      .replace('{m}', String(min % 60))
  return t('agoDay').replace('{d}', String(Math.floor(min / 1440)))
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag)
  if (cls) e.className = cls
  if (text !== undefined) e.textContent = text
  return e
}

/**
 * The active incidents, worst severity first and the longest-waiting first within it. Every text from the
 * server (titles, names, who acknowledged) goes in with textContent. The list is small (tens), so it is rebuilt
 * whole, at most once a frame, on each change, on a language switch and once a minute for the ages.
 */
export function createIncidentPanel(app: App): void {
  const { incidents, store: devices, session } = app
  const host = $('incidents')
  const list = el('ol', 'incident-list')
  host.replaceChildren(list)
  const ack = createAckDialog(session, (inc) => incidents.upsert(inc))
  let frame = 0

  const row = (i: Incident): HTMLLIElement => {
    const lang = getLang()
    const li = el('li', `incident sev-${i.severity} state-${i.state}`)
    li.dataset['incidentId'] = i.id
    li.dataset['severity'] = i.severity
    li.dataset['state'] = i.state
    const dev = deviceOf(i)
    if (dev !== undefined) li.dataset['deviceId'] = dev
    const head = el('div', 'incident-head')
    head.append(el('span', 'sev-badge', t(`sev_${i.severity}`)), el('span', 'incident-title', i.title[lang]))
    const meta = el('div', 'incident-meta')
    const age = el('time', 'incident-age', formatAgo(i.raisedAt))
    age.dateTime = new Date(i.raisedAt).toISOString()
    age.title = formatLocalTime(i.raisedAt)
    meta.append(
      el('span', 'incident-device', dev !== undefined ? devices.name(dev, lang) : i.subject),
      age,
      el('span', 'incident-state', t(`state_${i.state}`)),
    )
    li.append(head, meta)
    const acknowledger = acknowledgerText(i)
    if (acknowledger !== undefined) {
      const by = el('div', 'incident-ack', `${t('ackBy')}: ${acknowledger}`)
      if (i.ackNote) by.title = i.ackNote
      li.append(by)
    }
    // viewers see no button: acknowledging needs the operator role
    if ((i.acknowledgedAt === null || i.state === 'open') && session.canAcknowledge()) {
      const btn = el('button', 'ack-btn', t('acknowledge'))
      btn.type = 'button'
      btn.addEventListener('click', (e) => {
        e.stopPropagation()
        ack.open(i)
      })
      li.append(btn)
    }
    if (dev !== undefined) li.addEventListener('click', () => app.emit('open', dev, true))
    return li
  }

  const render = () => {
    frame = 0
    const all = incidents.sorted()
    if (all.length === 0) list.replaceChildren(el('li', 'incident-empty', t('incidentsEmpty')))
    else list.replaceChildren(...all.map(row))
  }
  const schedule = () => {
    frame ||= requestAnimationFrame(render)
  }
  incidents.on(schedule)
  session.onChange(schedule)
  setInterval(schedule, AGE_TICK_MS)
  render()
  app.on('relabel', () => {
    ack.relabel()
    schedule()
  })
  // device names arrive after the first snapshot
  app.on('names', schedule)
}
