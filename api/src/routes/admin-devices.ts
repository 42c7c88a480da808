import express, { Router } from 'express'
import type { Provisioning } from '../provisioning.ts'
import { DeviceIdPath, DevicePlacement, DevicePublicRequest, DeviceRecord, type ImportReport } from '@mytho/schema'
import { checkAgainst, ImportFormatError, type ImportRow, readCsv, readGeoJson } from '../device-import.ts'
import { HttpError, parseInput } from '../http-errors.ts'
import { callerOf, clientIp, requireRole } from '../auth/session.ts'

/**
 * Device provisioning, admins only: create (the secret is in the answer once), rotate, disable/enable
 * (the broker drops a disabled device's live connection at once), move, bulk import with a per-row report.
 */
export function adminDevicesRouter(provisioning: () => Provisioning | undefined, clock: () => number, importLimitBytes: number): Router {
  const r = Router()
  const admin = requireRole('admin')
  const p = () => {
    const v = provisioning()
    if (!v) throw new HttpError(503, 'device provisioning needs DATA_DIR (the metadata store)')
    return v
  }
  const audit = (req: express.Request, res: express.Response, action: Parameters<Provisioning['audit']>[0]['action'], target: string, detail?: unknown) =>
    p().audit({ actor: callerOf(res).username ?? 'anonymous', action, target, detail, ip: clientIp(req) }, clock())

  r.get('/admin/devices', admin, async (_req, res) => {
    res.json(await p().directory.list())
  })

  r.post('/admin/devices', admin, async (req, res) => {
    const record = parseInput(DeviceRecord, req.body ?? {}, 'body')
    const known = await p().known([record.id, ...(record.gatewayId !== undefined ? [record.gatewayId] : [])])
    const [row] = checkAgainst([{ row: 1, id: record.id, record, errors: [] }], known.exists, known.reserved)
    if (row!.errors.length > 0) throw new HttpError(409, row!.errors.join('; '))
    const [created] = await p().create([record])
    if (!created) throw new HttpError(409, `id: device ${record.id} is already provisioned`)
    await audit(req, res, 'device-create', record.id, { kind: record.kind })
    res.status(201).json(created)
  })

  r.post(
    '/admin/devices/import',
    admin,
    express.text({ type: ['text/csv', 'application/geo+json', 'application/json'], limit: importLimitBytes }),
    async (req, res) => {
      const type = req.is(['text/csv', 'application/geo+json', 'application/json'])
      if (!type || typeof req.body !== 'string') throw new HttpError(415, 'send text/csv or application/geo+json')
      const format = type === 'text/csv' ? 'csv' : 'geojson'
      let rows: ImportRow[]
      try {
        rows = format === 'csv' ? readCsv(req.body) : readGeoJson(req.body)
      } catch (err) {
        if (err instanceof ImportFormatError) throw new HttpError(400, err.message)
        throw err
      }
      const known = await p().known(rows.flatMap((x) => (x.record ? [x.record.id, ...(x.record.gatewayId !== undefined ? [x.record.gatewayId] : [])] : [])))
      checkAgainst(rows, known.exists, known.reserved)
      const good = rows.filter((x) => x.errors.length === 0).map((x) => x.record!)
      const created = await p().create(good)
      // Checked free, then taken by another admin (on any node) before this create: reported, not silently dropped.
      const made = new Set(created.map((c) => c.deviceId))
      for (const x of rows) if (x.errors.length === 0 && !made.has(x.record!.id)) x.errors.push(`id: device ${x.record!.id} was provisioned meanwhile`)
      const report: ImportReport = {
        format,
        total: rows.length,
        created,
        failed: rows.filter((x) => x.errors.length > 0).map((x) => ({ row: x.row, ...(x.id !== undefined ? { id: x.id } : {}), errors: x.errors })),
      }
      await audit(req, res, 'device-import', format, { total: report.total, created: created.map((c) => c.deviceId), failed: report.failed.length })
      res.json(report)
    },
  )

  r.post('/admin/devices/:id/rotate-secret', admin, async (req, res) => {
    const { id } = parseInput(DeviceIdPath, req.params, 'path')
    const out = await p().rotate(id)
    if (!out) throw new HttpError(404, `no provisioned device ${id}`)
    await audit(req, res, 'device-rotate', id)
    res.json(out)
  })

  for (const [path, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    r.post(`/admin/devices/:id/${path}`, admin, async (req, res) => {
      const { id } = parseInput(DeviceIdPath, req.params, 'path')
      const device = await p().setDisabled(id, disabled)
      if (!device) throw new HttpError(404, `no provisioned device ${id}`)
      await audit(req, res, disabled ? 'device-disable' : 'device-enable', id)
      res.json(device)
    })
  }
  // A move: the record's place (and ward) changes; every map shows it there within seconds, no restart.
  r.patch('/admin/devices/:id', admin, async (req, res) => {
    const { id } = parseInput(DeviceIdPath, req.params, 'path')
    const place = parseInput(DevicePlacement, req.body ?? {}, 'body')
    const device = await p().move(id, place)
    if (!device) throw new HttpError(404, `no provisioned device ${id}`)
    await audit(req, res, 'device-move', id, place)
    res.json(device)
  })
  // The open-data flag (issue #22): a device marked not public is left out of the daily export; agency keys still read it.
  r.post('/admin/devices/:id/public', admin, async (req, res) => {
    const { id } = parseInput(DeviceIdPath, req.params, 'path')
    const body = parseInput(DevicePublicRequest, req.body ?? {}, 'body')
    const device = await p().setPublic(id, body.public)
    if (!device) throw new HttpError(404, `no provisioned device ${id}`)
    await audit(req, res, 'device-publish', id, body)
    res.json(device)
  })
  return r
}
