import { join } from 'node:path'
import {
  createAlertEngine,
  createTelegramNotifier,
  createWebhookNotifier,
  defaultAlertRules,
  loadAlertRulesFile,
  openIncidentStore,
  type AlertRule,
  type IncidentChange,
} from '@mytho/alerts'
import type { DeviceRegistry, StoredReading } from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import type { IngestConfig } from './config.ts'

export type AlertingOptions = Pick<
  IngestConfig,
  'DATA_DIR' | 'ALERT_RULES_FILE' | 'ALERT_TICK_MS' | 'WEBHOOK_URL' | 'WEBHOOK_SECRET' | 'TELEGRAM_BOT_TOKEN' | 'TELEGRAM_CHAT_ID' | 'TELEGRAM_API_URL' | 'NOTIFY_LANGUAGE'
>

export const ALERTS_DB_FILE = 'alerts.sqlite'

/** Loads the rules now, so a bad rule file stops the start with a message naming the rule and field. */
export function loadRules(config: Pick<AlertingOptions, 'ALERT_RULES_FILE'>): AlertRule[] {
  return config.ALERT_RULES_FILE ? loadAlertRulesFile(config.ALERT_RULES_FILE) : defaultAlertRules
}

/**
 * The alert engine as the ingest runs it: fed with what was durably stored and with the devices'
 * retained status, ticking for silence and reminders, announcing every incident change to the API
 * and to the configured notifiers (which never block the ingest).
 */
export function createAlerting(config: AlertingOptions, deps: { registry: DeviceRegistry; logger: Logger; clock: () => number; announce: (change: IncidentChange) => void }) {
  const rules = loadRules(config)
  const store = openIncidentStore(join(config.DATA_DIR, ALERTS_DB_FILE))
  const log = deps.logger.child({ part: 'alerts' })
  const notifiers = [
    ...(config.WEBHOOK_URL && config.WEBHOOK_SECRET ? [createWebhookNotifier({ url: config.WEBHOOK_URL, secret: config.WEBHOOK_SECRET, logger: log })] : []),
    ...(config.TELEGRAM_BOT_TOKEN && config.TELEGRAM_CHAT_ID
      ? [
          createTelegramNotifier({
            token: config.TELEGRAM_BOT_TOKEN,
            chatId: config.TELEGRAM_CHAT_ID,
            language: config.NOTIFY_LANGUAGE,
            registry: deps.registry,
            logger: log,
            ...(config.TELEGRAM_API_URL ? { apiUrl: config.TELEGRAM_API_URL } : {}),
          }),
        ]
      : []),
  ]
  const engine = createAlertEngine({
    rules,
    registry: deps.registry,
    store,
    clock: deps.clock,
    logger: log,
    onChange: (change) => {
      deps.announce(change)
      for (const n of notifiers) n.notify(change)
    },
  })
  let timer: NodeJS.Timeout | undefined
  return {
    engine,
    store,
    start(latest: readonly StoredReading[]): void {
      engine.hydrate(latest)
      timer = setInterval(() => {
        try {
          engine.tick()
        } catch (err) {
          log.error('alert tick failed', { err })
        }
      }, config.ALERT_TICK_MS)
      timer.unref()
    },
    onStored(readings: readonly StoredReading[]): void {
      try {
        // An alert bug must never stop readings from being stored and acknowledged.
        engine.onReadings(readings, (err, r) => log.error('alert evaluation failed', { err, deviceId: r.deviceId }))
      } catch (err) {
        log.error('alert evaluation failed', { err })
      }
    },
    stop(): void {
      clearInterval(timer)
      for (const n of notifiers) n.stop()
      store.close()
    },
  }
}
export type Alerting = ReturnType<typeof createAlerting>
