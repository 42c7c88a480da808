import { Router } from 'express'
import {
  DeadLetterCountParams,
  DeadLetterParams,
  RedriveRequest,
  RedriveStatusParams,
  type DeviceRecord,
  type DeviceRegistry,
  type RedriveResult,
  type RedriveStatus,
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
  /** Asks the ingest to re-drive (the API's storage access reads only); an HttpError 503/504 when it cannot be asked or does not answer. */
  redrive: (req: RedriveRequest) => Promise<RedriveResult>
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
   * The ingest re-drives (ingest/src/redrive.ts): it runs the letters through validation against its registry, stores
   * the readings once per device and ts, and removes the letters whose readings are all stored. Here: who may, which
   * device, the wait for the answer, and the audit.
   */
  r.post('/dead-letters/redrive', async (req, res) => {
    const body = parseInput(RedriveRequest, req.body ?? {}, 'body')
    const device = await deviceNow(body.deviceId)
    if (!device) throw new HttpError(404, `device ${body.deviceId} is not in the registry: provision it first, then re-drive`)
    if (device.disabled) throw new HttpError(409, `device ${body.deviceId} is disabled: enable it first, then re-drive`)
    const result = await deps.redrive(body)
    const { actor } = actorOf(req, res)
    await deps.audit(
      {
        actor,
        action: 'dead-letter-redrive',
        target: body.deviceId,
        detail: { redriven: result.redriven, stored: result.stored, stillRejected: result.stillRejected.length },
        ip: clientIp(req),
      },
      deps.clock(),
    )
    res.json(result)
  })
  return r
}
