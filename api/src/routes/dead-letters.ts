import { Router } from 'express'
import {
  DeadLetterCountParams,
  DeadLetterParams,
  DeviceRegistry,
  REDRIVE_MAX,
  RedriveRequest,
  RedriveStatusParams,
  validateMessage,
  type DeviceRecord,
  type RedriveResult,
  type RedriveStatus,
  type Rejection,
  type StoredReading,
} from '@mytho/schema'
import type { AuditInput } from '@mytho/directory'
import type { ReadingStore } from '@mytho/storage'
import { actorOf, clientIp } from '../auth/session.ts'
import { HttpError, parseInput } from '../http-errors.ts'
import type { Provisioning } from '../provisioning.ts'

export interface DeadLetterDeps {
  /** The registry the API started with. */
  registry: DeviceRegistry
  /** The device directory: devices provisioned since the start are found there. */
  provisioning: () => Provisioning | undefined
  clock: () => number
  audit: (entry: AuditInput, now: number) => Promise<void> | void
}

/** Lets an operator see which devices send bad data, and why, and send a provisioned device's rejected readings in again. */
export function deadLettersRouter(store: ReadingStore, deps: DeadLetterDeps): Router {
  const r = Router()
  r.get('/dead-letters', async (req, res) => {
    const q = parseInput(DeadLetterParams, req.query, 'query')
    const query = Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as typeof q
    res.json(await store.deadLetters(query))
  })
  r.get('/dead-letters/counts', async (req, res) => {
    const q = parseInput(DeadLetterCountParams, req.query, 'query')
    const filter = Object.fromEntries(Object.entries({ deviceId: q.deviceId, from: q.from, to: q.to }).filter(([, v]) => v !== undefined))
    if (q.bucket === undefined) return void res.json(await store.deadLetterCounts(filter))
    res.json(await store.deadLetterBuckets({ ...filter, from: q.from!, to: q.to!, bucket: q.bucket }))
  })

  /** The device as the platform knows it now: provisioned since the start (directory), else from the registry file. */
  async function deviceNow(id: string): Promise<(DeviceRecord & { disabled: boolean }) | undefined> {
    const provisioned = await deps.provisioning()?.directory.get(id)
    if (provisioned) {
      const { hasSecret: _s, ...device } = provisioned
      return device
    }
    const known = deps.registry.get(id)
    return known ? { ...known, disabled: false } : undefined
  }

  // What the page needs to offer "Gửi lại": an operator cannot read the device directory (admin), this says enough.
  r.get('/dead-letters/redrive', async (req, res) => {
    const { deviceId } = parseInput(RedriveStatusParams, req.query, 'query')
    const device = await deviceNow(deviceId)
    const pending = (await store.deadLetterCounts({ deviceId }))['unknown_device'] ?? 0
    const status: RedriveStatus = { deviceId, registered: device !== undefined, disabled: device?.disabled ?? false, pending }
    res.json(status)
  })

  /*
   * A re-drive runs the letters through validateMessage, the function ingest validates with, against the registry
   * with the device in it; the readings go through the store's writeReadings, which keeps one reading per device and
   * ts, so a reading stored by an earlier or concurrent re-drive is not stored twice. Letters whose readings are all
   * stored are deleted; the rest stay, and are answered with today's reason.
   */
  r.post('/dead-letters/redrive', async (req, res) => {
    const body = parseInput(RedriveRequest, req.body ?? {}, 'body')
    const device = await deviceNow(body.deviceId)
    if (!device) throw new HttpError(404, `device ${body.deviceId} is not in the registry: provision it first, then re-drive`)
    if (device.disabled) throw new HttpError(409, `device ${body.deviceId} is disabled: enable it first, then re-drive`)
    const { disabled: _d, ...record } = device
    const registry = new DeviceRegistry([record], (id) => deps.registry.get(id))

    const all = await store.deadLetters({ deviceId: body.deviceId, code: 'unknown_device', limit: REDRIVE_MAX })
    const wanted = body.ids === undefined ? undefined : new Set(body.ids)
    const letters = all.filter((l): l is Rejection & { id: string } => l.id !== undefined && (wanted === undefined || wanted.has(l.id)))

    const readings: StoredReading[] = []
    const failedIds = new Set<string>()
    const stillRejected: RedriveResult['stillRejected'] = []
    const passedIds = new Set<string>()
    for (const letter of letters) {
      const out = validateMessage(letter.topic, Buffer.from(letter.raw, 'utf8'), letter.receivedAt, registry)
      const rejection = out.rejections[0]
      if (rejection || out.readings.length === 0) {
        failedIds.add(letter.id)
        stillRejected.push({ id: letter.id, reason: rejection?.code ?? 'invalid_reading', message: rejection?.message ?? 'no reading in the message' })
        continue
      }
      readings.push(...out.readings)
      passedIds.add(letter.id)
    }
    if (readings.length > 0) await store.writeReadings(readings)
    // An id several letters share (InfluxDB's slot) goes only when every one of them was stored.
    const done = [...passedIds].filter((id) => !failedIds.has(id))
    const removed = done.length > 0 ? await store.deleteDeadLetters(done) : 0
    const result: RedriveResult = { redriven: removed, stored: readings.length, stillRejected }
    const { actor } = actorOf(req, res)
    await deps.audit(
      {
        actor,
        action: 'dead-letter-redrive',
        target: body.deviceId,
        detail: { redriven: result.redriven, stored: result.stored, stillRejected: stillRejected.length },
        ip: clientIp(req),
      },
      deps.clock(),
    )
    res.json(result)
  })
  return r
}
