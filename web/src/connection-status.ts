import type { App } from './app.ts'
import { $ } from './dom.ts'
import { t } from './i18n/index.ts'
import type { LinkState } from './live-client.ts'

/**
 * The live link's state in the header, and a banner while the map shows stale data (our link down, or the server's
 * own feed down); the page is marked `not-live` meanwhile.
 */
export function createConnectionStatus(app: App): { readonly state: LinkState } {
  const indicator = $('link')
  const banner = $('banner')
  let state: LinkState = 'connecting'
  const render = () => {
    indicator.className = `link ${state}`
    indicator.textContent = state === 'live' ? t('live') : state === 'down' ? t('disconnected') : state === 'feed_down' ? t('feedDown') : t('connecting')
    banner.hidden = state !== 'down' && state !== 'feed_down'
    banner.textContent = banner.hidden ? '' : `${state === 'down' ? t('disconnected') : t('feedDown')} ${t('staleNote')}`
    document.body.classList.toggle('not-live', state !== 'live')
  }
  app.on('link', (s) => {
    state = s
    render()
  })
  app.on('relabel', render)
  render()
  return {
    get state() {
      return state
    },
  }
}
