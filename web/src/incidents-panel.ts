import type { Incident } from './schema.ts'
import type { App } from './app.ts'
import { $ } from './dom.ts'
import { formatLocalTime } from './format.ts'
import { getLang, t } from './i18n/index.ts'
import { createAckDialog } from './incidents-ack.ts'
import { acknowledgerText } from './incidents-actor.ts'
import { incidentFactLines, incidentFacts } from './incidents-describe.ts'
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
  const { store: devices, session } = app
  /** The live incidents, or while replaying those as they stood at the cursor (read-only: nobody acknowledges the past). */
  const incidents = { sorted: () => (app.replay ? app.replayIncidents : app.incidents).sorted() }
  const canAcknowledge = () => session.canAcknowledge() && app.replay === undefined
  const host = $('incidents')
  const list = el('ol', 'incident-list')
  const bulk = el('div', 'bulk-ack')
  bulk.id = 'bulk-ack'
  host.replaceChildren(bulk, list)
  const ack = createAckDialog(session, devices, (inc) => app.incidents.upsert(inc))
  let frame = 0
  /** Rows ticked for a bulk acknowledgement (kept across re-renders; dropped once acknowledged or gone). */
  const selected = new Set<string>()
  const unacknowledged = (i: Incident) => i.acknowledgedAt === null
  /** A rule's name is its incidents' title before the level (the engine writes "rule: level"). */
  const ruleLabel = (i: Incident) => {
    const title = i.title[getLang()]
    const cut = title.lastIndexOf(': ')
    return cut > 0 ? title.slice(0, cut) : i.ruleId
  }

  /**
   * Bulk acknowledgement, for operators only: the ticked rows, or every unacknowledged incident of one rule, with one
   * note and one request (a restart or a storm can leave dozens).
   */
  const renderBulk = (all: Incident[]) => {
    const open = all.filter(unacknowledged)
    for (const id of [...selected]) if (!open.some((i) => i.id === id)) selected.delete(id)
    bulk.hidden = !canAcknowledge() || open.length < 2
    if (bulk.hidden) return bulk.replaceChildren()
    const chosen = open.filter((i) => selected.has(i.id))
    const ackSelected = el('button', 'bulk-selected', t('bulkSelected').replace('{n}', String(chosen.length)))
    ackSelected.type = 'button'
    ackSelected.disabled = chosen.length === 0
    ackSelected.addEventListener('click', () =>
      ack.openBulk({ ids: chosen.map((i) => i.id) }, t('bulkSelectedLabel').replace('{n}', String(chosen.length)), chosen),
    )
    const byRule = new Map<string, Incident[]>()
    for (const i of open) byRule.set(i.ruleId, [...(byRule.get(i.ruleId) ?? []), i])
    const rule = el('select', 'bulk-rule')
    rule.setAttribute('aria-label', t('bulkRule'))
    for (const [id, of] of byRule) {
      const opt = el('option', undefined, `${ruleLabel(of[0]!)} (${of.length})`)
      opt.value = id
      rule.append(opt)
    }
    const ackRule = el('button', 'bulk-rule-btn', t('bulkRule'))
    ackRule.type = 'button'
    ackRule.addEventListener('click', () => {
      const of = byRule.get(rule.value) ?? []
      ack.openBulk({ ruleId: rule.value }, `${t('bulkRuleLabel')}: ${ruleLabel(of[0]!)}`, of)
    })
    bulk.replaceChildren(ackSelected, el('span', 'bulk-or', t('bulkOr')), rule, ackRule)
  }

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
    const age = el('time', 'incident-age', formatAgo(i.raisedAt, app.replay?.at))
    age.dateTime = new Date(i.raisedAt).toISOString()
    age.title = formatLocalTime(i.raisedAt)
    meta.append(
      el('span', 'incident-device', dev !== undefined ? devices.name(dev, lang) : i.subject),
      age,
      el('span', 'incident-state', t(`state_${i.state}`)),
    )
    if (canAcknowledge() && unacknowledged(i)) {
      const box = el('input', 'incident-select')
      box.type = 'checkbox'
      box.checked = selected.has(i.id)
      box.setAttribute('aria-label', t('bulkPick'))
      box.addEventListener('click', (e) => e.stopPropagation())
      box.addEventListener('change', () => {
        if (box.checked) selected.add(i.id)
        else selected.delete(i.id)
        renderBulk(incidents.sorted())
      })
      head.prepend(box)
    }
    const facts = el('div', 'incident-facts')
    facts.append(...incidentFactLines(incidentFacts(i, devices), { device: false }))
    li.append(head, meta, facts)
    const acknowledger = acknowledgerText(i)
    if (acknowledger !== undefined) li.append(el('div', 'incident-ack', `${t('ackBy')}: ${acknowledger}`))
    // the note is what the next shift reads: on the row, not in a tooltip
    if (i.ackNote) li.append(el('div', 'incident-note', `${t('ackNoteShown')}: ${i.ackNote}`))
    // viewers see no button: acknowledging needs the operator role
    if ((i.acknowledgedAt === null || i.state === 'open') && canAcknowledge()) {
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
    renderBulk(all)
    if (all.length === 0) list.replaceChildren(el('li', 'incident-empty', t('incidentsEmpty')))
    else list.replaceChildren(...all.map(row))
  }
  const schedule = () => {
    frame ||= requestAnimationFrame(render)
  }
  app.incidents.on(schedule)
  app.replayIncidents.on(schedule)
  app.on('replay', schedule)
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
