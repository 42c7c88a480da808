import type { App } from './app.ts'
import { $ } from './dom.ts'
import { formatLocalTime } from './format.ts'
import { t, toggleLang, tx } from './i18n/index.ts'
import { addHistoryLink } from './history/link.ts'
import { addDeadLettersLink } from './dead-letters/link.ts'
import { addIncidentLogLink } from './incident-log/link.ts'
import { addAdminLink } from './admin/link.ts'
import { createHeaderToolsMenu } from './header-tools.ts'
import { statusColors } from './status.ts'

/*
 * The first time format with a time zone loads the zone data (10–35 ms measured in headless Chromium), so the clock
 * starts once the first live state is drawn, or after CLOCK_START_MS (ms) without one.
 */
const CLOCK_START_MS = 1000

/** The top bar: device counts by status (at most once a frame), the clock in Mỹ Tho time, the panel and language buttons. */
export function createHeader(app: App): void {
  const { store } = app
  const countsEl = $('counts')
  const renderCounts = () => {
    const c = store.countByStatus()
    const total = document.createElement('span')
    total.textContent = `${store.devices.size} ${t('devices')}`
    const parts: HTMLElement[] = [total]
    for (const s of ['alarm', 'warning', 'offline'] as const) {
      if (!c[s]) continue
      const chip = document.createElement('span')
      chip.className = 'count-chip'
      chip.style.background = statusColors[s]
      chip.dataset['status'] = s
      chip.textContent = `${c[s]} ${tx(`status_${s}`).toLowerCase()}`
      parts.push(chip)
    }
    countsEl.replaceChildren(...parts)
  }
  let countsFrame = 0
  store.on(() => {
    countsFrame ||= requestAnimationFrame(() => {
      countsFrame = 0
      renderCounts()
    })
  })

  const clock = $('clock')
  const tick = () => (clock.textContent = formatLocalTime(Date.now()))
  let clockStarted = false
  const startClock = () => {
    if (clockStarted) return
    clockStarted = true
    tick()
    setInterval(tick, 1000)
  }
  setTimeout(startClock, CLOCK_START_MS)
  app.on('firstRender', () => setTimeout(startClock, 0))

  $('panel-toggle').addEventListener('click', () => document.body.classList.toggle('panel-open'))
  $('lang').addEventListener('click', toggleLang)
  addIncidentLogLink($('lang'))
  addDeadLettersLink($('lang'), app.session)
  addHistoryLink($('lang'))
  addAdminLink($('lang'), app.session)
  createHeaderToolsMenu()

  app.on('relabel', () => {
    renderCounts()
    tick()
  })
  renderCounts()
}
