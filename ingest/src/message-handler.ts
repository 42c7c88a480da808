import { parseDeviceTopic, parseStatusPayload, type DeviceRegistry, type RejectReason } from '@mytho/schema'
import type { Logger } from '@mytho/runtime'
import type { Alerting } from './alerting.ts'
import type { BatchWriter } from './batch-writer.ts'
import type { IncomingMessage } from './mqtt-session.ts'
import { validateMessage, type ValidationLimits } from './validate-message.ts'

/**
 * What the ingest does with each message its session delivers: a device's retained online/offline goes to the
 * silence rule, anything else is validated into readings and dead letters for the batch writer, which
 * acknowledges it once stored. Counts what it saw.
 */
export function createMessageHandler(deps: {
  registry: DeviceRegistry
  writer: Pick<BatchWriter, 'add'>
  alerting: Alerting | undefined
  limits: ValidationLimits
  clock: () => number
  logger: Logger
}) {
  const { registry, writer, alerting, limits, clock, logger: log } = deps
  const counters = { received: 0, accepted: 0, rejected: 0, rejectedByReason: {} as Partial<Record<RejectReason, number>> }
  // With REDIS_URL the alert state of a batch is committed to Redis after the engine ran: the batch is acknowledged
  // only once it is there, as it is once in alerts.sqlite otherwise (the broker redelivers what a SIGKILL cut short).
  const ackAfterAlerts = (ack: () => void): (() => void) => (alerting?.deferAcks ? () => void alerting.settled().then(ack) : ack)

  const onMessage = (msg: IncomingMessage): void => {
    // Readings are nearly every message: their topic is parsed once, in validateMessage.
    const topic = msg.topic.endsWith('/status') ? parseDeviceTopic(msg.topic) : undefined
    if (topic?.suffix === 'status') {
      // The retained online/offline a device's Last Will sets (or its planned goodbye): news for the silence rule, not a reading.
      const said = parseStatusPayload(msg.payload.toString('utf8'))
      if (said) alerting?.onConnection(topic.deviceId, said.status, clock(), { planned: said.planned, retained: msg.retain === true })
      ackAfterAlerts(msg.ack)()
      return
    }
    counters.received++
    const { readings, rejections } = validateMessage(msg.topic, msg.payload, clock(), registry, limits)
    counters.accepted += readings.length
    for (const r of rejections) {
      counters.rejected++
      counters.rejectedByReason[r.code] = (counters.rejectedByReason[r.code] ?? 0) + 1
      log.debug('rejected', { code: r.code, deviceId: r.deviceId, topic: r.topic })
    }
    writer.add(readings, rejections, ackAfterAlerts(msg.ack))
    // No fields object: this runs for every message, and at the usual levels it is not printed.
    log.debug('received')
  }
  return { counters, onMessage }
}
