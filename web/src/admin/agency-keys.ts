import type { AgencyKeyCreated, AgencyKeyUse, AgencyKeyView } from '@mytho/schema/agency-keys'
import { deviceKinds, wardNames, wards } from '@mytho/schema/lists'
import { formatLocalTime } from '../format.ts'
import { getLang, tx } from '../i18n/index.ts'
import { at, fill } from '../i18n/admin.ts'
import { kt, type AgencyKeyText } from '../i18n/admin-agency-keys.ts'
import { errorText, type AdminApi } from './api.ts'
import { clearShown, showAgencyKey } from './agency-key-shown.ts'
import { createKeyForm } from './agency-key-form.ts'
import { LOCAL_OFFSET_MS } from './local-time.ts'
import { button, el } from './dom.ts'
import './agency-keys.css'

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T
/** Uses shown per key: the newest, enough to see who called and how it went. */
const USES_SHOWN = 50
const COLUMNS = 8

type Status = 'active' | 'revoked' | 'expired'
export const statusOf = (k: AgencyKeyView, now: number): Status =>
  k.revokedAt !== null ? 'revoked' : k.expiresAt !== null && k.expiresAt <= now ? 'expired' : 'active'

/**
 * When a key stops: a key issued here ends at a Mỹ Tho midnight, said as the last day it works ("through 31/12");
 * any other instant (a key issued through the API) as that instant.
 */
function expiry(ms: number): string {
  if ((ms + LOCAL_OFFSET_MS) % 86_400_000 !== 0) return fill(kt('expiresAt'), { time: formatLocalTime(ms) })
  const date = new Intl.DateTimeFormat(getLang() === 'vi' ? 'vi-VN' : 'en-GB', {
    timeZone: 'Asia/Ho_Chi_Minh',
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
  })
  return fill(kt('validThrough'), { date: date.format(ms - 1) })
}

/** The scope in a line: kinds and wards in operator words ("all" when all), the level of data, the rate. */
function scopeSummary(k: AgencyKeyView): string {
  const { kinds, wards: ws, access, ratePerMinute } = k.scope
  return [
    kinds.length === deviceKinds.length ? kt('allKinds') : kinds.map((x) => tx(`kind_${x}`)).join(', '),
    ws.length === wards.length ? kt('allWardsShort') : ws.map((w) => wardNames[w][getLang()]).join(', '),
    kt(`accessShort_${access}`),
    fill(kt('perMinute'), { n: ratePerMinute }),
  ].join(' · ')
}

/**
 * The agency keys section (issue #22): issue a key (shown once, with its curl line), the list with each key's scope,
 * use and status, revoke with a confirm step (a revoked key stays listed), and a key's latest uses. Every value from
 * the API is text; the API checks the admin role and the CSRF token on each action and audits issue and revoke.
 */
export function createAgencyKeysSection(o: { api: AdminApi; notify: (text: string) => void; changed: () => void }) {
  const { api, notify } = o
  const rows = $('ak-rows')
  const shownHost = $('ak-shown-host')
  const keyForm = createKeyForm()
  let keys: AgencyKeyView[] | Error | undefined
  /** The key whose revoke waits for its confirmation, and the key whose uses are open, kept across re-renders. */
  let confirming: string | undefined
  let usesOpen: string | undefined
  let uses: AgencyKeyUse[] | Error | undefined

  // Back and forward keep a page whole in the browser's cache: a key still on screen would come back with it.
  window.addEventListener('pagehide', () => clearShown(shownHost))

  async function load(): Promise<void> {
    try {
      keys = await api.get<AgencyKeyView[]>('/admin/agency-keys')
    } catch (err) {
      keys = new Error(errorText(err))
    }
    render()
  }

  async function loadUses(id: string): Promise<void> {
    uses = undefined
    render()
    try {
      const got = await api.get<AgencyKeyUse[]>(`/admin/agency-keys/${encodeURIComponent(id)}/uses?limit=${USES_SHOWN}`)
      if (usesOpen === id) uses = got
    } catch (err) {
      if (usesOpen === id) uses = new Error(errorText(err))
    }
    render()
  }

  async function revoke(k: AgencyKeyView): Promise<void> {
    try {
      await api.post(`/admin/agency-keys/${encodeURIComponent(k.id)}/revoke`)
    } catch (err) {
      notify(fill(at('refused'), { why: errorText(err) }))
      return
    }
    confirming = undefined
    notify(fill(kt('revoked'), { name: k.name }))
    o.changed()
    await load()
    if (usesOpen === k.id) await loadUses(k.id)
  }

  function cell(className: string, label: AgencyKeyText | undefined, text: string): HTMLTableCellElement {
    const td = el('td', { className, text })
    // On a phone the header row is hidden: each cell says what it is.
    if (label) td.dataset['label'] = kt(label)
    return td
  }

  function row(k: AgencyKeyView, now: number): HTMLTableRowElement[] {
    const status = statusOf(k, now)
    const tr = el('tr')
    tr.dataset['keyId'] = k.id
    tr.dataset['status'] = status
    const name = cell('ak-name', undefined, '')
    name.append(el('span', { className: 'ak-name-text', text: k.name }), ' ', el('span', { className: 'ak-id', text: k.id }))
    const state = cell('ak-state', 'colStatus', '')
    state.append(el('span', { className: 'ak-state-text', text: kt(`status_${status}`) }))
    const when = status === 'revoked' ? fill(kt('revokedAt'), { time: formatLocalTime(k.revokedAt!) }) : k.expiresAt !== null ? expiry(k.expiresAt) : ''
    if (when) state.append(' ', el('span', { className: 'ak-state-when', text: when }))
    tr.append(
      name,
      cell('ak-agency', 'colAgency', k.agency),
      cell('ak-scope', 'colScope', scopeSummary(k)),
      cell('ak-created', 'colCreated', formatLocalTime(k.createdAt)),
      cell('ak-last', 'colLastUsed', k.lastUsedAt === null ? kt('never') : formatLocalTime(k.lastUsedAt)),
      cell('ak-count', 'colUses', String(k.useCount)),
      state,
      actions(k, status),
    )
    return usesOpen === k.id ? [tr, usesRow(k)] : [tr]
  }

  function actions(k: AgencyKeyView, status: Status): HTMLTableCellElement {
    const td = el('td', { className: 'ak-actions' })
    const open = usesOpen === k.id
    const view = button(open ? kt('hideUses') : kt('viewUses'), 'ak-view-uses', () => {
      usesOpen = open ? undefined : k.id
      if (usesOpen) void loadUses(k.id)
      else render()
    })
    view.setAttribute('aria-expanded', String(open))
    if (open) view.setAttribute('aria-controls', `ak-uses-${k.id}`)
    if (status !== 'active') td.append(view)
    else if (confirming !== k.id)
      td.append(
        button(kt('revoke'), 'ak-revoke', () => {
          confirming = k.id
          render()
          rows.querySelector<HTMLElement>(`tr[data-key-id="${k.id}"] .ak-revoke-cancel`)?.focus()
        }),
        ' ',
        view,
      )
    else td.append(confirmRevoke(k), view)
    return td
  }

  function confirmRevoke(k: AgencyKeyView): HTMLElement {
    const confirm = el('div', { className: 'ak-confirm' })
    confirm.setAttribute('role', 'group')
    const question = el('p', { className: 'ak-confirm-text', text: fill(kt('revokeConfirm'), { name: k.name }) })
    question.id = `ak-confirm-${k.id}`
    confirm.setAttribute('aria-labelledby', question.id)
    const cancel = () => {
      confirming = undefined
      render()
      rows.querySelector<HTMLElement>(`tr[data-key-id="${k.id}"] .ak-revoke`)?.focus()
    }
    confirm.append(
      question,
      button(kt('revokeYes'), 'ak-revoke-yes danger', () => void revoke(k)),
      ' ',
      button(at('cancel'), 'ak-revoke-cancel', cancel),
    )
    confirm.addEventListener('keydown', (e) => e.key === 'Escape' && cancel())
    return confirm
  }

  function usesRow(k: AgencyKeyView): HTMLTableRowElement {
    const tr = el('tr', { className: 'ak-uses-row' })
    tr.dataset['keyId'] = k.id
    const td = el('td')
    td.colSpan = COLUMNS
    const panel = el('div', { className: 'ak-uses' })
    panel.id = `ak-uses-${k.id}`
    const status = el('p', { className: 'log-status ak-uses-status' })
    status.setAttribute('role', 'status')
    const head = el('div', { className: 'ak-uses-head' })
    head.append(
      el('h3', { text: fill(kt('usesHeading'), { name: k.name }) }),
      button(kt('reloadUses'), 'ak-uses-reload', () => void loadUses(k.id)),
    )
    panel.append(head, status)
    if (uses === undefined) status.textContent = at('loading')
    else if (uses instanceof Error) status.textContent = uses.message
    else if (uses.length === 0) status.textContent = kt('usesEmpty')
    else {
      status.textContent = fill(kt('usesCount'), { n: uses.length })
      const table = el('table', { className: 'adm-table ak-uses-table' })
      const headRow = el('tr')
      const labels: AgencyKeyText[] = ['colTime', 'colMethod', 'colPath', 'colHttp', 'colIp']
      headRow.append(...labels.map((l) => el('th', { text: kt(l) })))
      const thead = el('thead')
      thead.append(headRow)
      const body = el('tbody')
      body.append(
        ...uses.map((u) => {
          const r = el('tr')
          const values: [string, string][] = [
            ['ak-use-time', formatLocalTime(u.ts)],
            ['ak-use-method', u.method],
            ['ak-use-path', u.path],
            ['ak-use-status', String(u.status)],
            ['ak-use-ip', u.ip ?? ''],
          ]
          r.append(
            ...values.map(([className, text], i) => {
              const c = el('td', { className, text })
              c.dataset['label'] = kt(labels[i]!)
              return c
            }),
          )
          return r
        }),
      )
      table.append(thead, body)
      const scroll = el('div', { className: 'adm-scroll' })
      scroll.append(table)
      panel.append(scroll)
    }
    td.append(panel)
    tr.append(td)
    return tr
  }

  function render(): void {
    for (const e of document.querySelectorAll<HTMLElement>('[data-kt]')) e.textContent = kt(e.dataset['kt'] as AgencyKeyText)
    keyForm.render()
    const status = $('ak-status')
    if (keys === undefined) return void (status.textContent = at('loading'))
    if (keys instanceof Error) {
      status.textContent = keys.message
      rows.replaceChildren()
      return
    }
    const list = keys
    if (confirming !== undefined && !list.some((k) => k.id === confirming)) confirming = undefined
    const now = Date.now()
    status.textContent =
      list.length === 0 ? kt('empty') : fill(kt('count'), { n: list.length, active: list.filter((k) => statusOf(k, now) === 'active').length })
    // Keyboard users keep their place: the control that had focus, in its row, has it again after the list is redrawn.
    const active = document.activeElement instanceof HTMLElement && rows.contains(document.activeElement) ? document.activeElement : undefined
    const focusRow = active?.closest('tr')?.dataset['keyId']
    const focusClass = [...(active?.classList ?? [])].find((c) => c.startsWith('ak-'))
    rows.replaceChildren(...list.flatMap((k) => row(k, now)))
    if (focusRow !== undefined) {
      const inRow = (sel: string) => rows.querySelector<HTMLElement>(`tr[data-key-id="${focusRow}"] ${sel}`)
      ;(inRow(`.${focusClass ?? 'ak-view-uses'}`) ?? inRow('.ak-view-uses'))?.focus()
    }
  }

  keyForm.form.addEventListener('submit', (e) => {
    e.preventDefault()
    keyForm.clearError()
    const request = keyForm.read()
    const submit = $<HTMLButtonElement>('ak-create-submit')
    submit.disabled = true
    void api
      .post<AgencyKeyCreated>('/admin/agency-keys', request)
      .then(
        async (created) => {
          keyForm.form.reset()
          notify(fill(kt('issued'), { name: created.agencyKey.name, agency: created.agencyKey.agency }))
          showAgencyKey(shownHost, created, location.origin, () =>
            rows.querySelector<HTMLElement>(`tr[data-key-id="${created.agencyKey.id}"] .ak-view-uses`)?.focus(),
          )
          o.changed()
          await load()
        },
        (err: unknown) => keyForm.refused(err, kt('unreachable')),
      )
      .finally(() => (submit.disabled = false))
  })

  render()
  /** A session that ended takes a key still on screen with it. */
  return { load, render, clear: () => clearShown(shownHost) }
}
