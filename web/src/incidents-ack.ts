import type { AcknowledgeRequest, BulkAcknowledgeRequest, Incident } from './schema.ts'
import { getLang, t } from './i18n/index.ts'
import type { Session } from './session.ts'
import type { DeviceStore } from './store.ts'
import { incidentFactLines, incidentFacts } from './incidents-describe.ts'

/** Whom a bulk acknowledgement (BulkAcknowledgeRequest) takes: exactly one of `ids` or `ruleId` (every unacknowledged incident of that rule). */
export type BulkTarget = Required<Pick<BulkAcknowledgeRequest, 'ids'>> | Required<Pick<BulkAcknowledgeRequest, 'ruleId'>>
/** What the form acknowledges: one incident, or several with one note. */
type Subject = { one: Incident } | { bulk: BulkTarget; label: string; incidents: Incident[] }

/** localStorage key of the operator's name, asked once and offered again on the next acknowledgement. */
export const OPERATOR_STORAGE_KEY = 'mytho.operator'

const remembered = (): string => {
  try {
    return localStorage.getItem(OPERATOR_STORAGE_KEY) ?? ''
  } catch {
    return '' // storage blocked: asked each time
  }
}

/**
 * The acknowledge form, an in-page <dialog> (not window.prompt: it takes a note too, and it can be filled in by a
 * test). A signed-in operator sends only the note: the API records who is signed in, and the POST carries the
 * session's CSRF token. Without sign-in (AUTH_DISABLED) operators name themselves; the name is kept in
 * localStorage. A refusal by the API is shown as text in the dialog, which stays open.
 */
export function createAckDialog(session: Session, devices: DeviceStore, onAcknowledged: (incident: Incident) => void) {
  const dialog = document.createElement('dialog')
  dialog.id = 'ack-dialog'
  dialog.className = 'ack-dialog'
  const form = document.createElement('form')
  form.method = 'dialog'
  const heading = document.createElement('h3')
  const subject = document.createElement('p')
  subject.className = 'ack-subject'
  const facts = document.createElement('div')
  facts.className = 'ack-facts'
  const nameLabel = document.createElement('label')
  const nameText = document.createElement('span')
  const name = document.createElement('input')
  name.id = 'ack-name'
  name.name = 'by'
  name.required = true
  name.maxLength = 100
  name.autocomplete = 'name'
  nameLabel.append(nameText, name)
  const noteLabel = document.createElement('label')
  const noteText = document.createElement('span')
  const note = document.createElement('textarea')
  note.id = 'ack-note'
  note.name = 'note'
  note.maxLength = 2000
  note.rows = 3
  noteLabel.append(noteText, note)
  const error = document.createElement('p')
  error.id = 'ack-error'
  error.className = 'ack-error'
  error.setAttribute('role', 'alert')
  error.hidden = true
  const buttons = document.createElement('div')
  buttons.className = 'ack-buttons'
  const cancel = document.createElement('button')
  cancel.type = 'button'
  cancel.id = 'ack-cancel'
  const submit = document.createElement('button')
  submit.type = 'submit'
  submit.id = 'ack-submit'
  buttons.append(cancel, submit)
  form.append(heading, subject, facts, nameLabel, noteLabel, error, buttons)
  dialog.append(form)
  document.body.append(dialog)

  let current: Subject | undefined
  let sending = false
  const relabel = () => {
    heading.textContent = current && 'bulk' in current ? t('bulkTitle').replace('{n}', String(current.incidents.length)) : t('ackTitle')
    nameText.textContent = t('ackName')
    noteText.textContent = current && 'bulk' in current ? t('bulkNote') : t('ackNote')
    cancel.textContent = t('ackCancel')
    submit.textContent = sending ? t('ackSending') : t('ackSubmit')
    if (!current) return
    if ('one' in current) {
      subject.textContent = current.one.title[getLang()]
      facts.replaceChildren(...incidentFactLines(incidentFacts(current.one, devices)))
    } else {
      subject.textContent = current.label
      const ul = document.createElement('ul')
      ul.className = 'ack-bulk-list'
      for (const i of current.incidents) {
        const li = document.createElement('li')
        const f = incidentFacts(i, devices)
        li.textContent = `${i.title[getLang()]} — ${f.ward !== undefined ? `${f.device}, ${f.ward}` : f.device}`
        ul.append(li)
      }
      facts.replaceChildren(ul)
    }
  }
  const showError = (msg: string) => {
    error.textContent = `${t('ackFailed')}: ${msg}`
    error.hidden = false
  }

  cancel.addEventListener('click', () => dialog.close())
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const target = current
    if (!target || sending) return
    const signedIn = session.me?.signedIn === true
    // AcknowledgeRequest (packages/schema): `by` only without sign-in
    const body: AcknowledgeRequest = signedIn ? {} : { by: name.value.trim() }
    if (!signedIn && !body.by) return showError(t('ackName'))
    if (note.value.trim()) body.note = note.value.trim()
    sending = true
    submit.disabled = true
    relabel()
    const path = 'one' in target ? `/incidents/${encodeURIComponent(target.one.id)}/acknowledge` : '/incidents/acknowledge'
    void session
      .post(path, 'one' in target ? body : { ...target.bulk, ...body })
      .then(async (res) => {
        const json: unknown = await res.json().catch(() => null)
        if (!res.ok) throw new Error((json as { error?: unknown } | null)?.error?.toString() ?? `HTTP ${res.status}`)
        // the schema (and zod) load with the first acknowledgement, not with the map
        const { Incident, BulkAcknowledgeResult } = await import('@mytho/schema/incidents')
        const parsed = ('one' in target ? Incident.transform((i) => ({ acknowledged: [i], skipped: [] })) : BulkAcknowledgeResult).safeParse(json)
        if (!parsed.success) throw new Error('bad response')
        const { acknowledged, skipped } = parsed.data
        // nothing acknowledged (all taken meanwhile, or gone): say why, keep the form open
        if (acknowledged.length === 0 && skipped.length > 0) throw new Error(skipped.map((x) => `${x.id}: ${x.reason}`).join('; '))
        try {
          if (body.by !== undefined) localStorage.setItem(OPERATOR_STORAGE_KEY, body.by)
        } catch {
          /* not remembered */
        }
        dialog.close()
        for (const i of acknowledged) onAcknowledged(i)
      })
      .catch((err: unknown) => showError(err instanceof Error ? err.message : String(err)))
      .finally(() => {
        sending = false
        submit.disabled = false
        relabel()
      })
  })
  relabel()

  return {
    open(incident: Incident): void {
      this.show({ one: incident })
    },
    /** Several incidents with one note: the checked rows, or every unacknowledged one of a rule. */
    openBulk(bulk: BulkTarget, label: string, incidents: Incident[]): void {
      this.show({ bulk, label, incidents })
    },
    show(subject: Subject): void {
      current = subject
      const signedIn = session.me?.signedIn === true
      nameLabel.hidden = signedIn
      name.required = !signedIn
      name.value = name.value || remembered()
      note.value = ''
      error.hidden = true
      error.textContent = ''
      relabel()
      dialog.showModal()
      ;(signedIn || name.value ? note : name).focus()
    },
    relabel,
  }
}
