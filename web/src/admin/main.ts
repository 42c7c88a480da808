/*
 * The administration page (admin.html, issue #18): operators (add, change role, disable, enable, reset password),
 * devices (provision, rotate a secret, disable, enable, move, import, the open-data flag; devices.ts), agency keys
 * (issue #22; agency-keys.ts) and the audit log (filter by actor, action and time, paged). Behind the map's sign-in, the same session cookie; every
 * change is a POST with the session's CSRF token and is checked and audited by the API, which alone decides: a
 * viewer or operator who opens the page sees why it is closed to them, and the API answers them 403 anyway.
 */
import '../incident-log/log.css'
import './admin.css'
import { getLang, onLangChange, toggleLang, tx } from '../i18n/index.ts'
import { at, fill, type AdminKey } from '../i18n/admin.ts'
import { createSession } from '../session.ts'
import { createAgencyKeysSection } from './agency-keys.ts'
import { adminApi } from './api.ts'
import { createAuditSection } from './audit.ts'
import { createImportSection } from './device-import.ts'
import { createDevicesSection } from './devices.ts'
import { createOperatorsSection } from './operators.ts'

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T
const session = createSession()
const api = adminApi(session)
let noticeTimer: ReturnType<typeof setTimeout> | undefined

function notify(text: string): void {
  const n = $('adm-notice')
  n.textContent = text
  clearTimeout(noticeTimer)
  noticeTimer = setTimeout(() => (n.textContent = ''), 15_000)
}

const audit = createAuditSection(api)
const operators = createOperatorsSection({
  api,
  me: () => session.me?.username ?? null,
  notify,
  changed: (ops) => {
    audit.actors(ops.map((o) => o.username))
    // an action just taken is in the log: show it
    void audit.load()
  },
})
const devices = createDevicesSection({ api, notify, changed: () => void audit.load() })
const deviceImport = createImportSection({ api, done: devices.imported })
const agencyKeys = createAgencyKeysSection({ api, notify, changed: () => void audit.load() })

function applyTexts(): void {
  document.documentElement.lang = getLang()
  document.title = at('pageTitle')
  for (const e of document.querySelectorAll<HTMLElement>('[data-at]')) e.textContent = at(e.dataset['at'] as AdminKey)
  $('adm-lang').textContent = tx('language')
  const me = session.me
  $('adm-user').textContent = me?.signedIn ? `${me.username} · ${me.role ? tx(`role_${me.role}`) : ''}` : ''
  const forbidden = $('adm-forbidden')
  if (!forbidden.hidden && me?.role) forbidden.textContent = fill(at('needAdmin'), { role: tx(`role_${me.role}`) })
}

let started = false
function show(): void {
  const role = session.me?.role ?? null
  $('adm-sign-in').hidden = role !== null
  $('adm-main').hidden = role !== 'admin'
  $('adm-forbidden').hidden = role === null || role === 'admin'
  applyTexts()
  if (role === null) return void $('adm-username').focus()
  if (role !== 'admin' || started) return
  started = true
  void operators.load()
  devices.resize()
  void devices.load()
  void agencyKeys.load()
}

function wire(): void {
  $('adm-lang').addEventListener('click', toggleLang)
  onLangChange(() => {
    applyTexts()
    operators.render()
    audit.render()
    devices.render()
    deviceImport.render()
    agencyKeys.render()
  })
  $('adm-sign-in-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const error = $('adm-sign-in-error')
    void session.login($<HTMLInputElement>('adm-username').value.trim(), $<HTMLInputElement>('adm-password').value).then((r) => {
      $<HTMLInputElement>('adm-password').value = ''
      error.hidden = r.ok
      if (!r.ok) error.textContent = r.reason === 'wrong' ? at('signInWrong') : at('signInFailed')
    })
  })
  session.onChange((me) => {
    // a session that ended (reset, disabled, expired) closes the page until someone signs in again
    if (me.role === null) {
      started = false
      agencyKeys.clear()
    }
    show()
  })
}

wire()
applyTexts()
void session.check()
