import { onLangChange } from '../i18n/index.ts'
import { at } from '../i18n/admin.ts'
import type { Session } from '../session.ts'

/**
 * The map header's way to the administration page (admin.html, issue #18), before `anchor`; shown to admins only
 * (the API refuses everyone else on every route of that page anyway).
 */
export function addAdminLink(anchor: HTMLElement, session: Session): void {
  const a = document.createElement('a')
  a.id = 'admin-link'
  a.className = 'lang-btn log-link'
  a.href = './admin.html'
  a.hidden = session.me?.role !== 'admin'
  const label = () => (a.textContent = at('link'))
  label()
  onLangChange(label)
  session.onChange((me) => (a.hidden = me.role !== 'admin'))
  anchor.before(a)
}
