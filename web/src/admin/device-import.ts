import type { ImportReport } from '@mytho/schema/auth'
import { at, fill } from '../i18n/admin.ts'
import { dt } from '../i18n/admin-devices.ts'
import { errorText, type AdminApi } from './api.ts'
import { el } from './dom.ts'

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T

/** GeoJSON by its name or its first character; anything else is sent as CSV (the API says what is wrong with it). */
const contentType = (file: File, text: string): string =>
  /\.(geo)?json$/i.test(file.name) || text.trimStart().startsWith('{') ? 'application/geo+json' : 'text/csv'

/**
 * Bulk import: the file goes to the API as it is and the answer is shown row by row, created or failed and why; the
 * new devices' secrets are shown once, like a single provisioning.
 */
export function createImportSection(o: { api: AdminApi; done: (created: ImportReport['created']) => Promise<void> }) {
  const form = $<HTMLFormElement>('dev-import')
  const file = $<HTMLInputElement>('dev-import-file')
  const error = $('dev-import-error')
  const out = $('dev-import-report')
  let report: ImportReport | undefined

  function render(): void {
    if (!report) {
      out.replaceChildren()
      return
    }
    const summary = el('p', {
      className: 'dev-import-summary',
      text: fill(dt('importSummary'), { total: report.total, created: report.created.length, failed: report.failed.length }),
    })
    const table = el('table', { className: 'adm-table dev-import-table' })
    const head = el('tr')
    for (const k of ['colRow', 'colId', 'colResult'] as const) head.append(el('th', { text: dt(k) }))
    table.append(el('thead'), el('tbody'))
    table.tHead!.append(head)
    const lines = [
      ...report.failed.map((f) => ({ row: f.row, id: f.id ?? '', ok: false, why: f.errors.join('; ') })),
      ...report.created.map((c) => ({ row: undefined as number | undefined, id: c.deviceId, ok: true, why: '' })),
    ].sort((a, b) => (a.row ?? Infinity) - (b.row ?? Infinity))
    for (const l of lines) {
      const tr = el('tr', { className: l.ok ? 'dev-import-created' : 'dev-import-failed' })
      if (l.row !== undefined) tr.dataset['row'] = String(l.row)
      tr.dataset['deviceId'] = l.id
      tr.append(
        el('td', { className: 'dev-import-row', text: l.row === undefined ? '' : String(l.row) }),
        el('td', { className: 'dev-import-id', text: l.id }),
        el('td', { className: 'dev-import-result', text: l.ok ? dt('importCreated') : `${dt('importFailed')}: ${l.why}` }),
      )
      table.tBodies[0]!.append(tr)
    }
    const scroll = el('div', { className: 'adm-scroll' })
    scroll.append(table)
    out.replaceChildren(summary, scroll)
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault()
    error.hidden = true
    const f = file.files?.[0]
    if (!f) {
      error.textContent = dt('importNoFile')
      error.hidden = false
      return
    }
    const submit = $<HTMLButtonElement>('dev-import-submit')
    submit.disabled = true
    void (async () => {
      try {
        const text = await f.text()
        report = await o.api.send<ImportReport>('POST', '/admin/devices/import', text, contentType(f, text))
        render()
        await o.done(report.created)
        form.reset()
      } catch (err) {
        error.textContent = fill(at('refused'), { why: errorText(err) })
        error.hidden = false
      } finally {
        submit.disabled = false
      }
    })()
  })

  return { render }
}
