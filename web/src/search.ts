import type { App } from './app.ts'
import { $ } from './dom.ts'
import { fold } from './format.ts'
import { getLang, t } from './i18n/index.ts'
import type { DeviceStore } from './store.ts'

/** Results shown under the search box. */
const MAX_RESULTS = 12

/** Finds devices by id or by Vietnamese or English name, ignoring case and diacritics ("dao thanh" finds "Đạo Thạnh"). */
export function searchDevices(store: DeviceStore, query: string, max = MAX_RESULTS): string[] {
  const q = fold(query.trim())
  if (!q) return []
  const out: string[] = []
  const ids = new Set([...store.meta.keys(), ...store.devices.keys()])
  for (const id of ids) {
    if (store.removed.has(id)) continue
    const m = store.meta.get(id)
    const hay = m ? `${id} ${fold(m.nameVi)} ${fold(m.nameEn)}` : id
    if (hay.includes(q)) {
      out.push(id)
      if (out.length >= max) break
    }
  }
  return out
}

/** The search box over the panel: results as the operator types; Enter opens the first. */
export function createSearch(app: App): void {
  const { store } = app
  const input = $<HTMLInputElement>('search')
  const results = $('search-results')
  const onPick = (id: string) => app.emit('open', id, true)
  const show = () => {
    const ids = searchDevices(store, input.value)
    if (!input.value.trim()) {
      results.replaceChildren()
      results.hidden = true
      return
    }
    results.hidden = false
    if (ids.length === 0) {
      const li = document.createElement('li')
      li.className = 'no-results'
      li.textContent = t('noResults')
      results.replaceChildren(li)
      return
    }
    results.replaceChildren(
      ...ids.map((id) => {
        const li = document.createElement('li')
        li.tabIndex = 0
        li.dataset['deviceId'] = id
        const name = document.createElement('span')
        name.textContent = store.name(id, getLang())
        const small = document.createElement('small')
        small.textContent = id
        li.append(name, small)
        const pick = () => {
          onPick(id)
          results.hidden = true
        }
        li.addEventListener('click', pick)
        li.addEventListener('keydown', (e) => e.key === 'Enter' && pick())
        return li
      }),
    )
  }
  input.addEventListener('input', show)
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      const first = searchDevices(store, input.value, 1)[0]
      if (first) {
        onPick(first)
        results.hidden = true
      }
    } else if (e.key === 'Escape') results.hidden = true
  })
  app.on('relabel', show)
  // a device disabled while its name is listed leaves the results
  app.on('removed', show)
}
