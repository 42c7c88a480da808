import { Role, type OperatorView } from '@mytho/schema/auth'
import { formatLocalTime } from '../format.ts'
import { tx } from '../i18n/index.ts'
import { at, fill } from '../i18n/admin.ts'
import { errorText, type AdminApi } from './api.ts'

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; text?: string } = {}): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag)
  if (props.className) e.className = props.className
  if (props.text !== undefined) e.textContent = props.text
  return e
}

function button(text: string, className: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', { className: `log-btn ${className}`, text })
  b.type = 'button'
  b.addEventListener('click', onClick)
  return b
}

const roleOptions = (selected: string) =>
  Role.options.map((r) => {
    const o = new Option(tx(`role_${r}`), r)
    o.selected = r === selected
    return o
  })

/**
 * The operators section: each operator with role and state; change the role, disable, enable, reset the password
 * (an inline form under the row, the policy's refusal shown there); and the form that adds one. Names are text.
 */
export function createOperatorsSection(o: { api: AdminApi; me: () => string | null; notify: (text: string) => void; changed: (ops: OperatorView[]) => void }) {
  const { api, notify } = o
  const rows = $('op-rows')
  let operators: OperatorView[] = []
  /** The operator whose password form is open, kept across re-renders. */
  let resetting: string | undefined

  async function load(): Promise<void> {
    try {
      operators = await api.get<OperatorView[]>('/operators')
    } catch (err) {
      notify(errorText(err))
      return
    }
    render()
    o.changed(operators)
  }

  /** Runs a change; on success says so and reloads the list, on refusal shows why (in `errorEl`, else the notice). */
  async function act(run: () => Promise<unknown>, done: string, errorEl?: HTMLElement): Promise<boolean> {
    try {
      await run()
    } catch (err) {
      const text = fill(at('refused'), { why: errorText(err) })
      if (errorEl) {
        errorEl.textContent = text
        errorEl.hidden = false
      } else notify(text)
      return false
    }
    notify(done)
    await load()
    return true
  }

  function row(op: OperatorView): HTMLTableRowElement[] {
    const tr = el('tr')
    tr.dataset['username'] = op.username
    tr.dataset['state'] = op.disabled ? 'disabled' : 'enabled'
    const self = op.username === o.me()
    const name = el('td', { className: 'op-name' })
    name.append(el('span', { text: op.username }))
    if (self) name.append(' ', el('span', { className: 'adm-you', text: at('you') }))

    const roleCell = el('td', { className: 'op-role' })
    const select = el('select', { className: 'op-role-select' })
    select.setAttribute('aria-label', fill(at('roleOf'), { name: op.username }))
    select.append(...roleOptions(op.role))
    const saveRole = button(at('changeRole'), 'op-role-save', () => {
      const role = select.value as Role
      void act(
        () => api.post(`/operators/${encodeURIComponent(op.username)}/role`, { role }),
        fill(at('roleChanged'), { name: op.username, role: tx(`role_${role}`) }),
      )
    })
    roleCell.append(select, ' ', saveRole)

    const state = el('td', { className: 'op-state', text: op.disabled ? at('disabled') : at('enabled') })
    const last = el('td', { className: 'op-last', text: op.lastSignInAt === null ? at('never') : formatLocalTime(op.lastSignInAt) })
    // On a phone the header row is hidden: each cell says what it is.
    state.dataset['label'] = at('colState')
    last.dataset['label'] = at('colLastSignIn')

    const actions = el('td', { className: 'op-actions' })
    const path = `/operators/${encodeURIComponent(op.username)}`
    if (op.disabled)
      actions.append(button(at('enable'), 'op-enable', () => void act(() => api.post(`${path}/enable`), fill(at('enabledDone'), { name: op.username }))))
    else if (!self)
      actions.append(button(at('disable'), 'op-disable', () => void act(() => api.post(`${path}/disable`), fill(at('disabledDone'), { name: op.username }))))
    actions.append(
      ' ',
      button(at('resetPassword'), 'op-reset', () => {
        resetting = resetting === op.username ? undefined : op.username
        render()
        if (resetting) rows.querySelector<HTMLInputElement>(`tr.op-reset-row input`)?.focus()
      }),
    )
    tr.append(name, roleCell, state, last, actions)
    if (resetting !== op.username) return [tr]
    return [tr, resetRow(op, path)]
  }

  function resetRow(op: OperatorView, path: string): HTMLTableRowElement {
    const tr = el('tr', { className: 'op-reset-row' })
    tr.dataset['username'] = op.username
    const td = el('td')
    td.colSpan = 5
    const form = el('form', { className: 'adm-inline' })
    form.noValidate = true
    const label = el('label')
    const input = el('input', { className: 'op-reset-password' })
    input.type = 'password'
    input.autocomplete = 'new-password'
    input.maxLength = 1024
    label.append(el('span', { text: fill(at('newPasswordFor'), { name: op.username }) }), input)
    const error = el('p', { className: 'log-error op-reset-error' })
    error.setAttribute('role', 'alert')
    error.hidden = true
    const save = el('button', { className: 'log-btn primary op-reset-save', text: at('save') })
    save.type = 'submit'
    const cancel = button(at('cancel'), 'op-reset-cancel', () => {
      resetting = undefined
      render()
    })
    const hint = el('p', { className: 'adm-hint', text: at('passwordHint') })
    form.append(label, hint, error, save, ' ', cancel)
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      save.disabled = true
      error.hidden = true
      void act(() => api.post(`${path}/password`, { password: input.value }), fill(at('passwordDone'), { name: op.username }), error).then((ok) => {
        save.disabled = false
        if (ok) {
          resetting = undefined
          render()
        }
      })
    })
    form.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return
      resetting = undefined
      render()
    })
    td.append(form)
    tr.append(td)
    return tr
  }

  function render(): void {
    if (resetting !== undefined && !operators.some((op) => op.username === resetting)) resetting = undefined
    // Keep a half-typed new password through a re-render (a language switch).
    const typed = rows.querySelector<HTMLInputElement>('input.op-reset-password')?.value
    // Keyboard users keep their place: the control that had focus, or its row's, has it again after the list is redrawn.
    const active = document.activeElement instanceof HTMLElement && rows.contains(document.activeElement) ? document.activeElement : undefined
    const focusRow = active?.closest('tr')?.dataset['username']
    const focusClass = [...(active?.classList ?? [])].find((c) => c.startsWith('op-'))
    rows.replaceChildren(...operators.flatMap(row))
    if (focusRow !== undefined) {
      const inRow = (sel: string) => rows.querySelector<HTMLElement>(`tr[data-username="${CSS.escape(focusRow)}"] ${sel}`)
      ;(inRow(`.${focusClass ?? 'op-reset'}`) ?? inRow('.op-reset'))?.focus()
    }
    const input = rows.querySelector<HTMLInputElement>('input.op-reset-password')
    if (input && typed) input.value = typed
    const newRole = $<HTMLSelectElement>('op-new-role')
    const keep = newRole.value || 'viewer'
    newRole.replaceChildren(...roleOptions(keep))
  }

  const create = $<HTMLFormElement>('op-create')
  create.addEventListener('submit', (e) => {
    e.preventDefault()
    const error = $('op-create-error')
    error.hidden = true
    const username = $<HTMLInputElement>('op-new-name').value.trim()
    const password = $<HTMLInputElement>('op-new-password')
    const role = $<HTMLSelectElement>('op-new-role').value
    const submit = $<HTMLButtonElement>('op-create-submit')
    submit.disabled = true
    void act(() => api.post('/operators', { username, password: password.value, role }), fill(at('created'), { name: username }), error).then((ok) => {
      submit.disabled = false
      if (!ok) return
      create.reset()
      password.value = ''
    })
  })

  return { load, render }
}
