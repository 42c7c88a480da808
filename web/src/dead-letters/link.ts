import { onLangChange } from '../i18n/index.ts'
import { dt } from '../i18n/dead-letters.ts'
import type { Session } from '../session.ts'

/**
 * The map header's way to the rejected messages (dead-letters.html, issue #18), before `anchor`; shown to operators
 * and admins (the API refuses viewers the raw payloads; the page says so to anyone else who opens it).
 */
export function addDeadLettersLink(anchor: HTMLElement, session: Session): void {
  const a = document.createElement('a')
  a.id = 'dead-letters-link'
  a.className = 'lang-btn log-link'
  a.href = './dead-letters.html'
  const show = () => (a.hidden = !session.canAcknowledge())
  show()
  const label = () => (a.textContent = dt('link'))
  label()
  onLangChange(label)
  session.onChange(show)
  anchor.before(a)
}
