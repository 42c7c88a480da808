import { onLangChange } from '../i18n/index.ts'
import { ht } from '../i18n/history.ts'

/** The history explorer with one device's metric over the last 24 h (its deep link: view.ts). */
export const historyHref = (deviceId: string, metric: string): string =>
  `./history.html#metric=${encodeURIComponent(metric)}&devices=${encodeURIComponent(deviceId)}&range=24h`

/** The map header's way to the history explorer (history.html, issue #18), before `anchor`. */
export function addHistoryLink(anchor: HTMLElement): void {
  const a = document.createElement('a')
  a.id = 'history-link'
  a.className = 'lang-btn log-link'
  a.href = './history.html'
  const label = () => (a.textContent = ht('heading'))
  label()
  onLangChange(label)
  anchor.before(a)
}
