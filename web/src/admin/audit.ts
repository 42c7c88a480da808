import { AuditAction, type AuditEntry } from '@mytho/schema/auth'
import { formatLocalTime } from '../format.ts'
import { at, atx, fill } from '../i18n/admin.ts'
import { errorText, type AdminApi } from './api.ts'
import { localInputToMs } from './local-time.ts'

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T
/** Entries per page. */
const PAGE = 50

/** An action in the page's words; one added to the API later shows as the API names it. */
const actionLabel = (a: string): string => atx(`act_${a.replace(/-/g, '_')}`) ?? a

/**
 * The audit log section: filters by actor, action and a time range typed in Mỹ Tho time (UTC+7, whatever the browser's
 * zone), newest first, paged back by the API's `before` cursor (one entry more than a page is asked for, to know
 * whether an older page exists). Every value from the log is text.
 */
export function createAuditSection(api: AdminApi) {
  /** `before` cursors of the pages shown so far: the first page has none. */
  let cursors: (number | undefined)[] = [undefined]
  let shown: { entries: AuditEntry[]; more: boolean } | Error | undefined
  let filters = new URLSearchParams()

  function fillActions(): void {
    const sel = $<HTMLSelectElement>('audit-action')
    const keep = sel.value
    sel.replaceChildren(new Option(at('all'), ''), ...AuditAction.options.map((a) => new Option(actionLabel(a), a)))
    sel.value = keep
  }

  /** The filters as the API's query; undefined (and the reason shown) when the range is backwards. */
  function readFilters(): URLSearchParams | undefined {
    const q = new URLSearchParams()
    const actor = $<HTMLInputElement>('audit-actor').value.trim()
    const action = $<HTMLSelectElement>('audit-action').value
    const from = localInputToMs($<HTMLInputElement>('audit-from').value)
    const to = localInputToMs($<HTMLInputElement>('audit-to').value)
    const error = $('audit-error')
    error.hidden = from === undefined || to === undefined || from < to
    if (!error.hidden) {
      error.textContent = at('badRange')
      return undefined
    }
    if (actor) q.set('actor', actor)
    if (action) q.set('action', action)
    if (from !== undefined) q.set('from', String(from))
    if (to !== undefined) q.set('to', String(to))
    return q
  }

  async function load(): Promise<void> {
    const q = new URLSearchParams(filters)
    q.set('limit', String(PAGE + 1))
    const before = cursors.at(-1)
    if (before !== undefined) q.set('before', String(before))
    shown = undefined
    render()
    try {
      const entries = await api.get<AuditEntry[]>(`/audit?${q}`)
      shown = { entries: entries.slice(0, PAGE), more: entries.length > PAGE }
    } catch (err) {
      shown = new Error(errorText(err))
    }
    render()
  }

  function row(e: AuditEntry): HTMLTableRowElement {
    const tr = document.createElement('tr')
    tr.dataset['id'] = String(e.id)
    tr.dataset['action'] = e.action
    const cells: [string, string][] = [
      ['audit-time', formatLocalTime(e.ts)],
      ['audit-actor', e.actor],
      ['audit-action', actionLabel(e.action)],
      ['audit-target', e.target ?? ''],
      ['audit-ip', e.ip ?? ''],
    ]
    for (const [className, text] of cells) {
      const td = document.createElement('td')
      td.className = className
      td.textContent = text
      tr.append(td)
    }
    return tr
  }

  function render(): void {
    fillActions()
    const status = $('audit-status')
    const rows = $('audit-rows')
    status.dataset['state'] = shown === undefined ? 'loading' : shown instanceof Error ? 'error' : 'ready'
    $<HTMLButtonElement>('audit-newer').disabled = cursors.length <= 1 || shown === undefined
    $<HTMLButtonElement>('audit-older').disabled = !(shown && !(shown instanceof Error) && shown.more)
    if (shown === undefined) return void (status.textContent = at('loading'))
    if (shown instanceof Error) {
      status.textContent = shown.message
      rows.replaceChildren()
      return
    }
    status.textContent =
      shown.entries.length === 0 ? at('auditEmpty') : `${fill(at('auditCount'), { n: shown.entries.length, page: cursors.length })} (${at('timeZone')})`
    rows.replaceChildren(...shown.entries.map(row))
  }

  $('audit-filters').addEventListener('submit', (e) => {
    e.preventDefault()
    const q = readFilters()
    if (!q) return
    filters = q
    cursors = [undefined]
    void load()
  })
  $('audit-older').addEventListener('click', () => {
    if (!shown || shown instanceof Error || !shown.more) return
    cursors.push(shown.entries.at(-1)!.id)
    void load()
  })
  $('audit-newer').addEventListener('click', () => {
    if (cursors.length <= 1) return
    cursors.pop()
    void load()
  })

  /** Offers the operators' names to the actor filter. */
  function actors(names: string[]): void {
    $('audit-actors').replaceChildren(
      ...names.map((n) => {
        const o = document.createElement('option')
        o.value = n
        return o
      }),
    )
  }

  return { load, render, actors }
}
