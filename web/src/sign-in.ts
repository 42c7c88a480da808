import { t, tx } from './i18n/index.ts'
import type { LoginOutcome, Session } from './session.ts'

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T

/** "2 phút 5 giây" / "2 min 5 s": the lockout wait from Retry-After, as text. */
export function formatWait(s: number): string {
  const m = Math.floor(s / 60)
  const r = s % 60
  if (m === 0) return t('waitS').replace('{s}', String(r))
  return r === 0 ? t('waitM').replace('{m}', String(m)) : t('waitMS').replace('{m}', String(m)).replace('{s}', String(r))
}

type Notice = { key: 'signInWrong' | 'signInExpired' } | { key: 'signInLocked'; wait: number } | { key: 'signInFailed'; message: string } | undefined

/**
 * The sign-in page (markup in index.html, texts via data-i18n) and the signed-in user in the header. The page
 * covers the map without touching it: the URL hash (view, filters, selection) stays as it was, so signing in
 * again after a session ran out returns to the same view.
 */
export function createSignIn(session: Session, onSignedIn: () => void) {
  const page = $('sign-in')
  const form = $<HTMLFormElement>('sign-in-form')
  const username = $<HTMLInputElement>('sign-in-username')
  const password = $<HTMLInputElement>('sign-in-password')
  const error = $('sign-in-error')
  const submit = $<HTMLButtonElement>('sign-in-submit')
  const user = $('user')
  let notice: Notice
  let busy = false

  const renderNotice = () => {
    error.hidden = notice === undefined
    error.dataset['kind'] = notice?.key ?? ''
    if (!notice) return void (error.textContent = '')
    if (notice.key === 'signInLocked') error.textContent = t('signInLocked').replace('{wait}', formatWait(notice.wait))
    else if (notice.key === 'signInFailed') error.textContent = `${t('signInFailed')}: ${notice.message}`
    else error.textContent = t(notice.key)
  }
  const renderUser = () => {
    const me = session.me
    user.hidden = !me?.signedIn
    $('user-name').textContent = me?.username ?? ''
    $('user-role').textContent = me?.role ? tx(`role_${me.role}`) : ''
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault()
    if (busy) return
    busy = true
    submit.disabled = true
    void session
      .login(username.value.trim(), password.value)
      .then((r: LoginOutcome) => {
        password.value = ''
        if (r.ok) {
          notice = undefined
          hide()
          onSignedIn()
        } else notice = r.reason === 'wrong' ? { key: 'signInWrong' } : r.reason === 'locked' ? { key: 'signInLocked', wait: r.retryAfterS } : { key: 'signInFailed', message: r.message }
        renderNotice()
      })
      .finally(() => {
        busy = false
        submit.disabled = false
      })
  })

  function show(expired = false): void {
    notice = expired ? { key: 'signInExpired' } : undefined
    renderNotice()
    page.hidden = false
    document.body.classList.add('signed-out')
    ;(username.value ? password : username).focus()
  }
  function hide(): void {
    page.hidden = true
    document.body.classList.remove('signed-out')
  }
  session.onChange(renderUser)

  return {
    show,
    hide,
    get shown(): boolean {
      return !page.hidden
    },
    relabel(): void {
      renderNotice()
      renderUser()
    },
  }
}
