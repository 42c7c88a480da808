import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Router, type Response } from 'express'
import { clientIp } from '../auth/session.ts'
import type { RateLimit } from '../auth/throttle.ts'
import { HttpError } from '../http-errors.ts'
import { OPEN_DATA_DAY } from '../open-data-job.ts'
import { OPEN_DATA_LICENCE } from '../open-data.ts'

/** Where the open-data files are served, without a key or a session. */
export const OPEN_DATA_PREFIX = '/open-data'

/** The names a day folder holds (open-data.ts): anything else, `..` and encoded slashes included, is a 404. */
const FILE = /^(?:README\.md|[a-z_]+-places\.geojson|[a-z_]+-hourly\.csv)$/
const TYPES: [RegExp, string][] = [
  [/\.geojson$/, 'application/geo+json'],
  [/\.csv$/, 'text/csv; charset=utf-8'],
  [/\.md$/, 'text/markdown; charset=utf-8'],
]
/** A day's files are not written again once there: a day of caching, revalidated by ETag after. */
const FILE_CACHE = 'public, max-age=86400'
/** The index gains a day each night. */
const INDEX_CACHE = 'public, max-age=300'

interface DayEntry {
  day: string
  files: { name: string; bytes: number; url: string }[]
}

async function listDays(dir: string): Promise<DayEntry[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    throw err
  })
  const days = entries.filter((e) => e.isDirectory() && OPEN_DATA_DAY.test(e.name)).map((e) => e.name)
  days.sort((a, b) => (a < b ? 1 : -1))
  const out: DayEntry[] = []
  for (const day of days) {
    const files: DayEntry['files'] = []
    for (const name of (await readdir(join(dir, day))).filter((n) => FILE.test(n)).sort())
      files.push({ name, bytes: (await stat(join(dir, day, name))).size, url: `${OPEN_DATA_PREFIX}/${day}/${name}` })
    out.push({ day, files })
  }
  return out
}

/** Public data: any page may fetch it (no credentials are involved), and helmet's same-origin CORP is lifted. */
const publicHeaders = (res: Response) => {
  res.set('Access-Control-Allow-Origin', '*')
  res.set('Cross-Origin-Resource-Policy', 'cross-origin')
}

/**
 * The daily open-data files (open-data-job.ts writes them into OPEN_DATA_DIR), read-only and without auth:
 * `GET /open-data/` the index of days and files, newest day first; `GET /open-data/<day>/<file>` one file. Only a
 * day-shaped folder and a file name of the export's are ever joined to the folder, so no path leaves it. Counted by
 * the API's per-address rate like /api/v1.
 */
export function openDataRouter(dir: string, rateLimit: RateLimit, clock: () => number): Router {
  const r = Router()
  r.use(async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next(new HttpError(405, 'open data is read-only: GET'))
    const wait = await rateLimit.take(clientIp(req), clock())
    if (wait === 0) return next()
    res.set('Retry-After', String(wait))
    next(new HttpError(429, `too many requests; try again in ${wait} s`))
  })
  r.get(['/', '/index.json'], async (_req, res) => {
    publicHeaders(res)
    res.set('Cache-Control', INDEX_CACHE)
    // res.json sets a weak ETag and answers 304 to a matching If-None-Match.
    res.json({ licence: OPEN_DATA_LICENCE, days: await listDays(dir) })
  })
  r.get('/:day/:file', (req, res, next) => {
    const day = String(req.params['day'])
    const file = String(req.params['file'])
    if (!OPEN_DATA_DAY.test(day) || !FILE.test(file)) return next(new HttpError(404, `no open-data file ${day}/${file}`))
    publicHeaders(res)
    res.set('Cache-Control', FILE_CACHE)
    res.type(TYPES.find(([re]) => re.test(file))![1])
    // send() adds ETag and Last-Modified and answers conditional requests; `root` keeps the path inside the folder.
    res.sendFile(join(day, file), { root: dir, dotfiles: 'deny', cacheControl: false }, (err?: NodeJS.ErrnoException & { status?: number }) => {
      if (!err) return
      if (res.headersSent) return
      res.removeHeader('Content-Type')
      next(err.code === 'ENOENT' || err.status === 404 ? new HttpError(404, `no open-data file ${day}/${file}`) : err)
    })
  })
  return r
}
