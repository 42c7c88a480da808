import type { LiveDeviceState } from './schema.ts'
import { primaryMetric } from './alarm-levels.ts'
import type { App } from './app.ts'
import { $ } from './dom.ts'
import { formatLocalTime, formatValue } from './format.ts'
import { getLang, t, tx } from './i18n/index.ts'
import { statusColors } from './status.ts'

/** Lines kept in the live feed. */
export const FEED_LINES = 40
/** The feed is re-rendered at most this often, ms: readable, and cheap under 10,000 updates a second. */
export const FEED_RENDER_MS = 250

/**
 * The last updates, newest first. At most one DOM rewrite per FEED_RENDER_MS, and only of the newest
 * FEED_LINES devices: 10,000 updates a second must not become 10,000 DOM nodes.
 */
export function createFeed(app: App): void {
  const { store } = app
  const host = $('feed')
  let items: LiveDeviceState[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  let lastRender = 0
  const list = document.createElement('ol')
  list.className = 'feed-list'
  host.replaceChildren(list)

  const render = () => {
    timer = undefined
    lastRender = performance.now()
    const lang = getLang()
    if (items.length === 0) {
      const li = document.createElement('li')
      li.className = 'feed-empty'
      li.textContent = t('feedEmpty')
      list.replaceChildren(li)
      return
    }
    list.replaceChildren(
      ...items.map((d) => {
        const li = document.createElement('li')
        li.dataset['deviceId'] = d.deviceId
        const dot = document.createElement('i')
        dot.className = 'swatch'
        dot.style.background = statusColors[d.status]
        dot.title = tx(`status_${d.status}`)
        const time = document.createElement('time')
        time.textContent = d.lastSeen != null ? formatLocalTime(d.lastSeen, false) : '—'
        const name = document.createElement('span')
        name.className = 'feed-name'
        name.textContent = store.name(d.deviceId, lang)
        const value = document.createElement('span')
        value.className = 'feed-value'
        const metric = primaryMetric[d.kind]
        const v = d.lastReading?.fields[metric]
        value.textContent = v !== undefined ? formatValue(metric, v) : tx(`status_${d.status}`)
        li.append(dot, time, name, value)
        li.addEventListener('click', () => app.emit('open', d.deviceId, true))
        return li
      }),
    )
  }
  const schedule = () => {
    if (timer === undefined) timer = setTimeout(() => requestAnimationFrame(render), Math.max(0, FEED_RENDER_MS - (performance.now() - lastRender)))
  }
  render()
  app.on('updates', (devices) => {
    const fresh = devices.slice(-FEED_LINES).reverse()
    const ids = new Set(fresh.map((d) => d.deviceId))
    items = [...fresh, ...items.filter((d) => !ids.has(d.deviceId))].slice(0, FEED_LINES)
    schedule()
  })
  app.on('removed', (ids) => {
    const gone = new Set(ids)
    const kept = items.filter((d) => !gone.has(d.deviceId))
    if (kept.length === items.length) return
    items = kept
    schedule()
  })
  // the names, and the language of the times and values
  app.on('names', schedule)
  app.on('relabel', schedule)
}
