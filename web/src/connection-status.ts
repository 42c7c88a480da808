import type { App } from './app.ts'
import { $ } from './dom.ts'
import { t } from './i18n/index.ts'
import { rt } from './i18n/replay.ts'
import type { LinkState } from './live-client.ts'

/**
 * The live link's state in the header, and a banner while the map shows stale data (our link down, or the server's
 * own feed down); the page is marked `not-live` meanwhile. While the map replays the past the pill says so instead of
 * the link's state (a green "live" over the past would mislead the room); the link is still followed meanwhile, so
 * going back to live shows its real state (a link lost during the replay, not "live").
 */
export function createConnectionStatus(app: App): { readonly state: LinkState } {
  const indicator = $('link')
  const banner = $('banner')
  let state: LinkState = 'connecting'
  let replaying = false
  const render = () => {
    replaying = app.replay !== undefined
    indicator.className = `link ${replaying ? 'replaying' : state}`
    const text = replaying
      ? rt('pill')
      : state === 'live'
        ? t('live')
        : state === 'down'
          ? t('disconnected')
          : state === 'feed_down'
            ? t('feedDown')
            : t('connecting')
    // the pill is a live region: the same words written again could be read out again
    if (indicator.textContent !== text) indicator.textContent = text
    indicator.title = replaying ? rt('pillTitle') : ''
    banner.hidden = state !== 'down' && state !== 'feed_down'
    banner.textContent = banner.hidden ? '' : `${state === 'down' ? t('disconnected') : t('feedDown')} ${t('staleNote')}`
    document.body.classList.toggle('not-live', state !== 'live')
  }
  app.on('link', (s) => {
    state = s
    render()
  })
  // 'replay' also comes with every jump and about once a second while playing: only its beginning and end change the pill
  app.on('replay', () => {
    if (replaying !== (app.replay !== undefined)) render()
  })
  app.on('relabel', render)
  render()
  return {
    get state() {
      return state
    },
  }
}
