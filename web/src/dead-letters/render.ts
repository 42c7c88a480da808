import { rejectReasonWords } from '@mytho/schema/rejection-words'
import { formatLocalTime } from '../format.ts'
import { getLang } from '../i18n/index.ts'
import { dt } from '../i18n/dead-letters.ts'
import { fill } from '../i18n/incident-log.ts'
import { hexDump, looksLikeText, payloadSegments, storedBytes } from './payload.ts'

/** A dead letter as GET /dead-letters answers it (packages/schema Rejection; only what the page shows). */
export interface Letter {
  id?: string | undefined
  code: string
  message: string
  raw: string
  rawBytes: number
  topic: string
  deviceId?: string | undefined
  receivedAt: number
}

export interface BucketCount {
  start: number
  code: string
  count: number
}

export interface RenderContext {
  deviceName(id: string): string | undefined
  /** Whether a re-drive of this device can store anything now (registered, not disabled). */
  canRedrive(deviceId: string): boolean
  redrive(deviceId: string, ids: string[] | undefined, button: HTMLButtonElement): void
}

/** The longest payload the ingest keeps, bytes (DEAD_LETTER_RAW_MAX_BYTES of packages/schema). */
const RAW_KEPT_MAX = 4096

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag)
  if (className) e.className = className
  // device text goes in as text, never as markup
  if (text !== undefined) e.textContent = text
  return e
}

/** A reason in words (what went wrong, and the fix); an unknown code as itself. */
export function reasonWords(code: string): { what: string; fix: string } {
  const w = (rejectReasonWords as Record<string, (typeof rejectReasonWords)['not_json']>)[code]
  return w ? w[getLang()] : { what: code, fix: '' }
}

function payloadBlock(l: Letter): HTMLElement {
  const box = el('div', 'dl-payload-box')
  const head = el('div', 'dl-payload-head')
  const kept = storedBytes(l.raw)
  const size = l.rawBytes > kept && kept >= RAW_KEPT_MAX - 3 ? fill(dt('payloadCut'), { kept, n: l.rawBytes }) : fill(dt('payloadBytes'), { n: l.rawBytes })
  head.append(el('span', 'dl-payload-title', `${dt('payload')} · ${size}`))
  const pre = el('pre', 'dl-payload')
  pre.tabIndex = 0
  const asText = looksLikeText(l.raw)
  const toggle = el('button', 'log-btn dl-hex-toggle')
  toggle.type = 'button'
  const show = (text: boolean) => {
    pre.dataset['mode'] = text ? 'text' : 'hex'
    toggle.textContent = text ? dt('showHex') : dt('showText')
    if (!text) return void pre.replaceChildren(hexDump(l.raw))
    pre.replaceChildren(...payloadSegments(l.raw).map((s) => (s.escaped ? el('span', 'dl-esc', s.text) : document.createTextNode(s.text))))
  }
  toggle.addEventListener('click', () => show(pre.dataset['mode'] !== 'text'))
  show(asText)
  head.append(toggle)
  box.append(head)
  if (!asText) box.append(el('p', 'dl-note', dt('payloadHex')))
  box.append(pre)
  return box
}

/** The letters, newest first as the API answers, each with its reason in words, the fix and the payload. */
export function renderLetters(host: HTMLElement, letters: readonly Letter[], ctx: RenderContext): void {
  host.replaceChildren(
    ...letters.map((l) => {
      const li = el('li', `log-item dl-item code-${l.code}`)
      if (l.id !== undefined) li.dataset['id'] = l.id
      li.dataset['code'] = l.code
      const words = reasonWords(l.code)
      const head = el('div', 'log-head')
      head.append(el('span', 'sev-badge dl-reason', words.what), el('span', 'log-title dl-device', deviceLabel(l.deviceId, ctx)))
      const facts = el('div', 'log-facts')
      facts.append(el('time', 'dl-when', `${dt('received')} ${formatLocalTime(l.receivedAt)}`), el('span', 'dl-topic', `${dt('topic')}: ${l.topic}`))
      const fix = el('p', 'dl-fix')
      fix.append(el('strong', undefined, `${dt('fix')}: `), words.fix)
      const detail = el('details', 'dl-detail')
      detail.append(el('summary', undefined, dt('detail')), el('pre', 'dl-message', `${l.code}\n${l.message}`))
      li.append(head, facts, fix, detail, payloadBlock(l))
      if (l.code === 'unknown_device' && l.id !== undefined && l.deviceId !== undefined && ctx.canRedrive(l.deviceId)) {
        const button = el('button', 'log-btn primary dl-redrive', dt('redrive'))
        button.type = 'button'
        const deviceId = l.deviceId
        const id = l.id
        button.addEventListener('click', () => ctx.redrive(deviceId, [id], button))
        li.append(button)
      }
      return li
    }),
  )
}

/** A window's start in Mỹ Tho time, day first as both languages write it: `05/12 14:00`, or `05/12/2026` for a day. */
function windowLabel(start: number, bucket: 'hour' | 'day'): string {
  const d = new Date(start + 7 * 3600_000)
  const p2 = (n: number) => String(n).padStart(2, '0')
  const day = `${p2(d.getUTCDate())}/${p2(d.getUTCMonth() + 1)}`
  return bucket === 'hour' ? `${day} ${p2(d.getUTCHours())}:00` : `${day}/${d.getUTCFullYear()}`
}

function deviceLabel(id: string | undefined, ctx: RenderContext): string {
  if (id === undefined) return dt('noDevice')
  const name = ctx.deviceName(id)
  return name ? `${name} (${id})` : id
}

/**
 * Counts by reason per window: one row per window that has any (newest first), one column per reason seen, and the
 * total; a bar in the total cell shows the row against the busiest.
 */
export function renderCounts(host: HTMLElement, counts: readonly BucketCount[], bucket: 'hour' | 'day'): void {
  const codes = [...new Set(counts.map((c) => c.code))].sort()
  const rows = new Map<number, Map<string, number>>()
  for (const c of counts) {
    const row = rows.get(c.start) ?? new Map<string, number>()
    row.set(c.code, (row.get(c.code) ?? 0) + c.count)
    rows.set(c.start, row)
  }
  const title = el('h2', 'dl-counts-title', `${dt('countsTitle')} (${bucket === 'hour' ? dt('countsHour') : dt('countsDay')}, ${dt('timeZone')})`)
  if (rows.size === 0) return void host.replaceChildren(title, el('p', 'dl-counts-none', dt('countsNone')))
  const totals = [...rows.values()].map((r) => [...r.values()].reduce((a, b) => a + b, 0))
  const max = Math.max(...totals)
  const table = el('table', 'report-table dl-counts-table')
  const headRow = el('tr')
  headRow.append(el('th', undefined, dt('colWhen')), ...codes.map((c) => el('th', undefined, reasonWords(c).what)), el('th', undefined, dt('colTotal')))
  table.append(el('thead'), el('tbody'))
  table.tHead!.append(headRow)
  for (const [start, row] of [...rows].sort((a, b) => b[0] - a[0])) {
    const tr = el('tr')
    tr.dataset['start'] = String(start)
    const when = windowLabel(start, bucket)
    const total = [...row.values()].reduce((a, b) => a + b, 0)
    const totalCell = el('td', 'dl-total')
    const bar = el('span', 'dl-bar')
    bar.style.width = `${Math.max(4, Math.round((total / max) * 100))}%`
    totalCell.append(el('span', 'dl-total-n', String(total)), bar)
    tr.append(el('td', undefined, when), ...codes.map((c) => el('td', `dl-n code-${c}`, row.has(c) ? String(row.get(c)) : '')), totalCell)
    table.tBodies[0]!.append(tr)
  }
  const scroll = el('div', 'dl-counts-scroll')
  // the table may be wider than a phone: scrollable by keyboard too
  scroll.tabIndex = 0
  scroll.append(table)
  host.replaceChildren(title, scroll)
}
