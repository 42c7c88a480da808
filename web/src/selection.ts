import * as L from 'leaflet'
import type { App } from './app.ts'
import { bannersRoom } from './banner-room.ts'
import { deviceOf } from './incidents-store.ts'
import { t } from './i18n/index.ts'
import { createPopupContent, type PopupContent } from './popup.ts'

/**
 * The selected device and its popup (popup.ts): opened on `open` (panels, the map, the banner) and once from the link
 * the page was opened with (#d=…) when the device is known; kept up to date with the store, the link, the device's
 * incidents, the registry's names and the language. A device that leaves the registry (an admin disabled it) while
 * its popup is open closes it; the popup says why in its place, so the operator does not take it for a fault.
 */
/** While replay plays, the open popup's chart is drawn again at most this often, ms (each drawing asks the API). */
const REPLAY_CHART_MS = 5000
/** A popup's margins to the map's edges after Leaflet pans it into view, px: [sides, top and bottom]. */
const POPUP_PADDING: [number, number] = [20, 60]

export function createSelection(app: App) {
  const { map, store } = app
  let selected: string | undefined
  let popup: PopupContent | undefined
  /** The link's device, until it has been opened. */
  let fromLink = app.opened.selected

  const leafletPopup = L.popup({ maxWidth: 340, minWidth: 260, autoPanPadding: POPUP_PADDING, className: 'mytho-popup' })
  /**
   * Before each pan into view (opening, and growing with its chart): the banners over the map's top (an open alarm,
   * the pipeline's health, the replay banner) would hide the popup's top, its name and values, so it stays below them.
   */
  const keepClearOfBanners = () => {
    const room = bannersRoom(map.getContainer())
    leafletPopup.options.autoPanPaddingTopLeft = L.point(POPUP_PADDING[0], Math.max(POPUP_PADDING[1], room))
  }
  // A banner that appears or grows while a popup is open (an alarm raised, the pipeline degrading) would cover the
  // popup's top: pan it clear again, as when it opened.
  const banners = document.querySelector('.banners')
  if (banners)
    new ResizeObserver(() => {
      if (!popup || !leafletPopup.isOpen()) return
      keepClearOfBanners()
      leafletPopup.update()
    }).observe(banners)
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
    if (store.removed.has(id)) {
      // opened from an incident of a disabled device: say so rather than show stale values
      showRemoved(at)
      return true
    }
    selected = id
    app.emit('selected', id)
    popup?.destroy()
    popup = createPopupContent(
      store,
      id,
      () => {
        keepClearOfBanners()
        leafletPopup.update()
      },
      () => app.replay?.at,
    )
    // a phone's panel closes first: the banners it had moved to the screen's foot are back over the map's top
    if (window.matchMedia('(max-width: 720px)').matches) document.body.classList.remove('panel-open')
    if (pan) map.setView(at, Math.max(map.getZoom(), 15), { animate: false })
    keepClearOfBanners()
    leafletPopup.setLatLng(at).setContent(popup.root).openOn(map)
    popup.drawChart()
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
    } else if (e.type === 'updates' && selected !== undefined && e.devices.some((d) => d.deviceId === selected)) popup?.refresh()
  })
  /** In the popup's place: why the device is gone (its incidents stay in the panel and can be opened). */
  function showRemoved(at?: L.LatLngExpression): void {
    popup?.destroy()
    popup = undefined
    if (selected !== undefined) {
      selected = undefined
      app.emit('selected', undefined)
    }
    const note = document.createElement('p')
    note.className = 'popup-removed'
    note.setAttribute('role', 'status')
    note.textContent = t('deviceRemoved')
    if (at) leafletPopup.setLatLng(at)
    leafletPopup.setContent(note)
    keepClearOfBanners()
    if (!leafletPopup.isOpen()) leafletPopup.openOn(map)
  }
  app.on('removed', (ids) => {
    if (selected !== undefined && ids.includes(selected)) showRemoved()
  })
  app.incidents.on((e) => {
    // the open popup's incident list and chart lines follow the device's incidents
    if (e.type === 'changed' && selected !== undefined && deviceOf(e.incident) === selected) popup?.drawChart()
  })
  app.on('link', () => popup?.refresh())
  // the chart follows the replay cursor: on a jump, a pause and back to live at once, while playing every few seconds
  let chartAt: number | undefined
  let chartDrawnAt = 0
  app.on('replay', () => {
    const at = app.replay?.at
    if (!popup || at === chartAt) return
    const playing = app.replay?.playing === true
    if (playing && performance.now() - chartDrawnAt < REPLAY_CHART_MS) return
    chartAt = at
    chartDrawnAt = performance.now()
    popup.refresh()
    popup.drawChart()
  })
  app.on('relabel', () => {
    popup?.relabel()
    const note = leafletPopup.getContent()
    if (note instanceof HTMLElement && note.classList.contains('popup-removed')) note.textContent = t('deviceRemoved')
  })
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
