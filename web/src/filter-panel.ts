import { deviceKinds, deviceStatuses, wardNames, wards, type DeviceStatus, type Ward } from './schema.ts'
import type { App } from './app.ts'
import { $ } from './dom.ts'
import type { Filters } from './filters.ts'
import { getLang, tx } from './i18n/index.ts'
import { statusColors } from './status.ts'

interface Group<T extends string> {
  key: keyof Filters
  title: string
  values: readonly T[]
  label: (v: T) => string
  swatch?: (v: T) => string
}

/** Check boxes per kind, status and ward (labels via textContent), in step with `app.filters` either way. */
export function createFilterPanel(app: App): void {
  const { filters } = app
  const host = $('filters')
  const groups: Group<string>[] = [
    { key: 'kinds', title: 'kinds', values: deviceKinds, label: (v) => tx(`kind_${v}`) },
    { key: 'statuses', title: 'statuses', values: deviceStatuses, label: (v) => tx(`status_${v}`), swatch: (v) => statusColors[v as DeviceStatus] },
    { key: 'wards', title: 'wards', values: wards, label: (v) => wardNames[v as Ward][getLang()] },
  ]
  const labels: { span: HTMLSpanElement; g: Group<string>; v: string }[] = []
  const boxes: { input: HTMLInputElement; g: Group<string>; v: string }[] = []
  host.replaceChildren()
  for (const g of groups) {
    const fs = document.createElement('fieldset')
    fs.className = `filter-group filter-${g.key}`
    const legend = document.createElement('legend')
    legend.dataset['i18n'] = g.title
    legend.textContent = tx(g.title)
    fs.append(legend)
    for (const v of g.values) {
      const lab = document.createElement('label')
      const input = document.createElement('input')
      input.type = 'checkbox'
      input.name = `${g.key}:${v}`
      input.checked = (filters[g.key] as Set<string>).has(v)
      input.addEventListener('change', () => {
        const set = filters[g.key] as Set<string>
        if (input.checked) set.add(v)
        else set.delete(v)
        app.emit('filters', 'panel')
      })
      lab.append(input)
      if (g.swatch) {
        const sw = document.createElement('i')
        sw.className = 'swatch'
        sw.style.background = g.swatch(v)
        lab.append(sw)
      }
      const span = document.createElement('span')
      span.textContent = g.label(v)
      lab.append(span)
      fs.append(lab)
      labels.push({ span, g, v })
      boxes.push({ input, g, v })
    }
    host.append(fs)
  }
  app.on('relabel', () => {
    for (const { span, g, v } of labels) span.textContent = g.label(v)
  })
  // a hash the operator edited
  app.on('filters', (from) => {
    if (from === 'link') for (const { input, g, v } of boxes) input.checked = (filters[g.key] as Set<string>).has(v)
  })
}
