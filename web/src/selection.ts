import * as L from 'leaflet'
import type { App } from './app.ts'
import { deviceOf } from './incidents-store.ts'
import { createPopupContent, type PopupContent } from './popup.ts'

/**
 * The selected device and its popup (popup.ts): opened on `open` (panels, the map, the banner) and once from the link
 * the page was opened with (#d=…) when the device is known; kept up to date with the store, the link, the device's
 * incidents, the registry's names and the language.
 */
export function createSelection(app: App) {
  const { map, store } = app
  let selected: string | undefined
  let popup: PopupContent | undefined
  /** The link's device, until it has been opened. */
  let fromLink = app.opened.selected

  const leafletPopup = L.popup({ maxWidth: 340, minWidth: 260, autoPanPadding: [20, 60], className: 'mytho-popup' })
  leafletPopup.on('remove', () => {
    popup?.destroy()
    popup = undefined
    if (selected !== undefined) {
      selected = undefined
      app.emit('selected', undefined)
    }
  })

  function positionOf(id: string): L.LatLngExpression | undefined {
    const d = store.devices.get(id) ?? store.meta.get(id)
    return d ? [d.lat, d.lon] : undefined
  }

  /** Opens a device: centres it, draws it on top, shows the popup with its values and 24 h chart. */
  function select(id: string, pan = true): boolean {
    const at = positionOf(id)
    if (!at) return false
    selected = id
    app.emit('selected', id)
    popup?.destroy()
    popup = createPopupContent(store, id, () => leafletPopup.update())
    if (pan) map.setView(at, Math.max(map.getZoom(), 15), { animate: false })
    leafletPopup.setLatLng(at).setContent(popup.root).openOn(map)
    popup.drawChart()
    if (window.matchMedia('(max-width: 720px)').matches) document.body.classList.remove('panel-open')
    return true
  }

  function selectFromLink(): void {
    if (fromLink !== undefined && selected === undefined && positionOf(fromLink)) {
      select(fromLink, app.opened.lat === undefined)
      fromLink = undefined
    }
  }

  app.on('open', (id, pan) => void select(id, pan))
  store.on((e) => {
    if (e.type === 'snapshot') {
      selectFromLink()
      popup?.refresh()
    } else if (selected !== undefined && e.devices.some((d) => d.deviceId === selected)) popup?.refresh()
  })
  app.incidents.on((e) => {
    // the open popup's incident list and chart lines follow the device's incidents
    if (e.type === 'changed' && selected !== undefined && deviceOf(e.incident) === selected) popup?.drawChart()
  })
  app.on('link', () => popup?.refresh())
  app.on('relabel', () => popup?.relabel())
  app.on('names', () => {
    popup?.refresh()
    selectFromLink()
  })

  return {
    select,
    get selected(): string | undefined {
      return selected
    },
  }
}
export type Selection = ReturnType<typeof createSelection>
