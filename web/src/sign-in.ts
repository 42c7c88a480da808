import type { App } from './app.ts'
import { $ } from './dom.ts'
import { t, toggleLang, tx } from './i18n/index.ts'
import type { LoginOutcome } from './session.ts'

/** "2 phút 5 giây" / "2 min 5 s": the lockout wait from Retry-After, as text. */
export function formatWait(s: number): string {
  const m = Math.floor(s / 60)
  const r = s % 60
  if (m === 0) return t('waitS').replace('{s}', String(r))
  return r === 0 ? t('waitM').replace('{m}', String(m)) : t('waitMS').replace('{m}', String(m)).replace('{s}', String(r))
}

type Notice = { key: 'signInWrong' | 'signInExpired' } | { key: 'signInLocked'; wait: number } | { key: 'signInFailed'; message: string } | undefined

/**
 * The sign-in page (markup in index.html, texts via data-i18n) and the signed-in user in the header (issue #6).
 * Role null: the page covers the map without touching it (the live link is dropped, live-view.ts); the URL hash
 * (view, filters, selection) stays as it was, so signing in again after a session ran out returns to the same view.
 * Signing in emits `signedIn` (a new handshake carries the cookie). Without sign-in (AUTH_DISABLED) /auth/me answers
 * a role and nothing here shows.
 */
export function createSignIn(app: App): void {
  const { session } = app
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
          app.emit('signedIn')
        } else
          notice =
            r.reason === 'wrong'
              ? { key: 'signInWrong' }
              : r.reason === 'locked'
                ? { key: 'signInLocked', wait: r.retryAfterS }
                : { key: 'signInFailed', message: r.message }
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
  session.onChange((me, why) => {
    if (me.role === null && page.hidden) show(why === 'expired')
  })
  $('sign-out').addEventListener('click', () => {
    // a reload empties every store (the screen may be shared); the hash keeps the view for the next operator
    void session.logout().then(() => location.reload())
  })
  $('sign-in-lang').addEventListener('click', toggleLang)
  app.on('relabel', () => {
    renderNotice()
    renderUser()
  })
}
