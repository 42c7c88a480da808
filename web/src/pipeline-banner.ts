import type { PipelineHealth } from './schema.ts'
import type { App } from './app.ts'
import { $ } from './dom.ts'
import { fill } from './i18n/fill.ts'
import { getLang, t } from './i18n/index.ts'

/**
 * The ingest's pipeline health as a banner: amber while readings wait on its spool (storage down or behind),
 * red when the spool is full (blocked) or the ingest is gone (down), hidden when ok. The map's values are
 * then late, not wrong: the banner says how many readings wait and for how long.
 */
export function createPipelineBanner(app: App): void {
  const el = $('pipeline-banner')
  let last: PipelineHealth | undefined
  const render = () => {
    const h = last
    el.hidden = !h || h.status === 'ok'
    el.dataset['status'] = h?.status ?? ''
    if (!h || h.status === 'ok') return void (el.textContent = '')
    const n = h.spool.depth.toLocaleString(getLang() === 'vi' ? 'vi-VN' : 'en-GB')
    const min = h.spool.oldestAgeMs === null ? undefined : Math.floor(h.spool.oldestAgeMs / 60_000)
    const oldest = min === undefined ? '' : ` ${(min < 1 ? t('pipelineOldestUnder1') : t('pipelineOldest')).replace('{m}', String(min))}`
    el.textContent = h.status === 'down' ? t('pipelineDown') : `${fill(t(h.status === 'blocked' ? 'pipelineBlocked' : 'pipelineDegraded'), { n })}${oldest}`
  }
  app.on('pipeline', (h) => {
    last = h
    render()
  })
  app.on('relabel', render)
}
