import { onLangChange } from '../i18n/index.ts'
import { lt } from '../i18n/incident-log.ts'

/** The map header's way to the incident log and shift report (incidents.html, issue #17), before `anchor`. */
export function addIncidentLogLink(anchor: HTMLElement): void {
  const a = document.createElement('a')
  a.id = 'incident-log-link'
  a.className = 'lang-btn log-link'
  a.href = './incidents.html'
  const label = () => (a.textContent = lt('heading'))
  label()
  onLangChange(label)
  anchor.before(a)
}
