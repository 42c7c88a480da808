/*
 * The rejected messages (dead-letters.html, issue #18): what ingest refused, by device, reason and time, with the
 * reason in words and its fix, the raw payload shown safely, counts by reason over time, and the re-drive of a
 * device's readings refused as unregistered once it is provisioned. Behind the map's sign-in; operators and admins
 * (the API refuses viewers the raw payloads, and the page says so).
 */
import '../incident-log/log.css'
import './dead-letters.css'
import { rejectReasonWords } from '@mytho/schema/rejection-words'
import type { RedriveResult, RedriveStatus } from '@mytho/schema/rejection'
import { getLang, onLangChange, toggleLang, tx } from '../i18n/index.ts'
import { dt, type DeadLetterKey } from '../i18n/dead-letters.ts'
import { fill } from '../i18n/incident-log.ts'
import { createSession } from '../session.ts'
import { bucketFor, msToLocalInput, rangeOf, type Preset } from './period.ts'
import { reasonWords, renderCounts, renderLetters, type BucketCount, type Letter, type RenderContext } from './render.ts'

/** Letters per page. */
const PAGE = 50
const H = 3600_000

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T
const session = createSession()
const devices = new Map<string, { nameVi: string; nameEn: string }>()
/** Re-drive status of the devices with unknown_device letters on the page. */
const redrivable = new Map<string, RedriveStatus>()

interface Shown {
  letters: Letter[]
  counts: BucketCount[]
  bucket: 'hour' | 'day'
  more: boolean
}
let shown: Shown | Error | 'forbidden' | undefined
/** The `to` of each page shown so far: the first page's is the range's end; going back pops. */
let pageStarts: number[] = []
let range: { from: number; to: number } | undefined
let notice = ''

class Forbidden extends Error {}

const ctx: RenderContext = {
  deviceName: (id) => {
    const d = devices.get(id)
    return d ? (getLang() === 'vi' ? d.nameVi : d.nameEn) : undefined
  },
  canRedrive: (id) => {
    const s = redrivable.get(id)
    return s?.registered === true && !s.disabled
  },
  redrive: (deviceId, ids, button) => void redrive(deviceId, ids, button),
}

function applyTexts(): void {
  document.documentElement.lang = getLang()
  document.title = dt('pageTitle')
  for (const e of document.querySelectorAll<HTMLElement>('[data-dt]')) e.textContent = dt(e.dataset['dt'] as DeadLetterKey)
  $<HTMLInputElement>('f-device').placeholder = dt('devicePlaceholder')
  $('dl-lang').textContent = tx('language')
  const me = session.me
  $('dl-user').textContent = me?.signedIn ? `${me.username} · ${me.role ? tx(`role_${me.role}`) : ''}` : ''
  const sel = $<HTMLSelectElement>('f-reason')
  const keep = sel.value
  const codes = Object.keys(rejectReasonWords)
  sel.replaceChildren(new Option(dt('all'), ''), ...codes.map((c) => new Option(reasonWords(c).what, c)))
  sel.value = codes.includes(keep) ? keep : ''
  const list = $<HTMLDataListElement>('f-device-list')
  list.replaceChildren(...[...devices].map(([id, d]) => new Option(getLang() === 'vi' ? d.nameVi : d.nameEn, id)))
}

/** The filters as the API's query, or undefined (and a message) when the period is not a range. */
function filters(): URLSearchParams | undefined {
  const preset = $<HTMLSelectElement>('f-period').value as Preset
  const r = rangeOf(preset, Date.now(), $<HTMLInputElement>('f-from').value, $<HTMLInputElement>('f-to').value)
  if (!r) {
    $('dl-status').textContent = dt('badRange')
    return undefined
  }
  range = r
  const q = new URLSearchParams()
  const device = $<HTMLInputElement>('f-device').value.trim()
  if (device) q.set('deviceId', device)
  return q
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`/api/v1${path}`, { credentials: 'same-origin', headers: { accept: 'application/json' } })
  if (res.status === 401) void session.check()
  if (res.status === 403) throw new Forbidden()
  if (!res.ok) throw new Error(`HTTP ${res.status}`)
  return (await res.json()) as T
}

async function fetchPage(base: URLSearchParams, to: number, skip: ReadonlySet<string>): Promise<{ letters: Letter[]; more: boolean }> {
  const q = new URLSearchParams(base)
  const reason = $<HTMLSelectElement>('f-reason').value
  if (reason) q.set('code', reason)
  q.set('from', String(range!.from))
  q.set('to', String(to))
  // one more than a page says whether there is a next; letters of the ms a page ended in come again and are skipped
  q.set('limit', String(Math.min(1000, PAGE + 1 + skip.size)))
  const all = (await getJson<Letter[]>(`/dead-letters?${q}`)).filter((l) => l.id === undefined || !skip.has(l.id))
  return { letters: all.slice(0, PAGE), more: all.length > PAGE }
}

async function load(page: 'first' | 'next' | 'prev' | 'same' = 'first'): Promise<void> {
  const base = filters()
  if (!base) return
  if (page === 'first') pageStarts = [range!.to + 1]
  else if (page === 'next' && shown && typeof shown === 'object' && !(shown instanceof Error) && shown.letters.length > 0)
    pageStarts.push(shown.letters.at(-1)!.receivedAt + 1)
  else if (page === 'prev' && pageStarts.length > 1) pageStarts.pop()
  const to = pageStarts.at(-1)!
  // letters of the ms the previous page ended in that it showed already
  const prev = page === 'next' && shown && typeof shown === 'object' && !(shown instanceof Error) ? shown.letters : []
  const skip = new Set(prev.filter((l) => l.receivedAt === to - 1 && l.id !== undefined).map((l) => l.id!))
  shown = undefined
  render()
  try {
    const bucket = bucketFor(range!)
    const cq = new URLSearchParams(base)
    cq.set('from', String(range!.from))
    cq.set('to', String(range!.to + 1))
    cq.set('bucket', bucket)
    const [{ letters, more }, counts] = await Promise.all([fetchPage(base, to, skip), getJson<BucketCount[]>(`/dead-letters/counts?${cq}`)])
    await loadRedriveStatus(letters)
    shown = { letters, counts, bucket, more }
  } catch (err) {
    shown = err instanceof Forbidden ? 'forbidden' : err instanceof Error ? err : new Error(String(err))
  }
  render()
}

/** Asks, for each device with unknown_device letters on the page, whether it is registered now. */
async function loadRedriveStatus(letters: readonly Letter[]): Promise<void> {
  redrivable.clear()
  const ids = [...new Set(letters.filter((l) => l.code === 'unknown_device' && l.deviceId !== undefined).map((l) => l.deviceId!))]
  const found = await Promise.all(ids.map((id) => getJson<RedriveStatus>(`/dead-letters/redrive?deviceId=${encodeURIComponent(id)}`).catch(() => undefined)))
  for (const s of found) if (s) redrivable.set(s.deviceId, s)
}

function render(): void {
  const status = $('dl-status')
  const host = $('dl-list')
  const all = $<HTMLButtonElement>('dl-redrive-all')
  all.hidden = true
  $('dl-paging').hidden = true
  status.dataset['state'] = shown === undefined ? 'loading' : shown instanceof Error ? 'error' : shown === 'forbidden' ? 'forbidden' : 'ready'
  // A viewer is told why the page is empty, not offered filters that could only answer "forbidden" again.
  $('dl-filters').hidden = shown === 'forbidden'
  if (shown === undefined) return void (status.textContent = dt('loading'))
  if (shown === 'forbidden' || shown instanceof Error) {
    status.textContent = shown === 'forbidden' ? dt('forbidden') : dt('loadError')
    host.replaceChildren()
    $('dl-counts').replaceChildren()
    return
  }
  const { letters, counts, bucket, more } = shown
  const n = letters.length
  const summary = n === 0 ? dt('empty') : `${fill(dt('count'), { page: pageStarts.length, n })} (${dt('timeZone')})`
  status.textContent = notice ? `${notice} · ${summary}` : summary
  renderCounts($('dl-counts'), counts, bucket)
  renderLetters(host, letters, ctx)
  const device = $<HTMLInputElement>('f-device').value.trim()
  const st = redrivable.get(device)
  if (st && ctx.canRedrive(device) && st.pending > 0) {
    all.hidden = false
    all.textContent = fill(dt('redriveAll'), { n: st.pending, device })
    all.title = dt('redriveHint')
  }
  $('dl-paging').hidden = pageStarts.length <= 1 && !more
  $<HTMLButtonElement>('dl-prev').disabled = pageStarts.length <= 1
  $<HTMLButtonElement>('dl-next').disabled = !more
}

async function redrive(deviceId: string, ids: string[] | undefined, button: HTMLButtonElement): Promise<void> {
  button.disabled = true
  const was = button.textContent
  button.textContent = dt('redriving')
  try {
    const res = await session.post('/dead-letters/redrive', ids ? { deviceId, ids } : { deviceId })
    const body = (await res.json().catch(() => null)) as (RedriveResult & { error?: string }) | null
    if (!res.ok || !body) throw new Error(body?.error ?? `HTTP ${res.status}`)
    notice =
      fill(dt('redriveDone'), { redriven: body.redriven, stored: body.stored }) +
      (body.stillRejected.length > 0 ? fill(dt('redriveStill'), { n: body.stillRejected.length }) : '')
    await load('same')
  } catch (err) {
    button.disabled = false
    button.textContent = was
    $('dl-status').textContent = `${dt('redriveFailed')}: ${err instanceof Error ? err.message : String(err)}`
  }
}

async function loadDevices(): Promise<void> {
  const res = await fetch('/api/v1/devices', { credentials: 'same-origin' }).catch(() => undefined)
  if (!res?.ok) return
  for (const d of (await res.json()) as { id: string; nameVi: string; nameEn: string }[]) devices.set(d.id, d)
}

function showSignIn(): void {
  $('dl-main').hidden = true
  $('dl-sign-in').hidden = false
  $('dl-username').focus()
}

async function start(): Promise<void> {
  $('dl-sign-in').hidden = true
  $('dl-main').hidden = false
  if (session.me?.role === 'viewer') {
    // the API answers 403 to every dead-letter route for a viewer: say why instead of asking it
    shown = 'forbidden'
    return render()
  }
  await loadDevices()
  applyTexts()
  await load()
}

function wire(): void {
  const period = $<HTMLSelectElement>('f-period')
  const now = Date.now()
  $<HTMLInputElement>('f-from').value = msToLocalInput(now - 24 * H)
  $<HTMLInputElement>('f-to').value = msToLocalInput(now)
  period.addEventListener('change', () => {
    for (const e of document.querySelectorAll<HTMLElement>('.f-range')) e.hidden = period.value !== 'range'
  })
  $('dl-filters').addEventListener('submit', (e) => {
    e.preventDefault()
    notice = ''
    void load()
  })
  $('dl-prev').addEventListener('click', () => void load('prev'))
  $('dl-next').addEventListener('click', () => void load('next'))
  $('dl-redrive-all').addEventListener('click', (e) => {
    const device = $<HTMLInputElement>('f-device').value.trim()
    if (device) void redrive(device, undefined, e.currentTarget as HTMLButtonElement)
  })
  $('dl-lang').addEventListener('click', toggleLang)
  onLangChange(() => {
    applyTexts()
    if (shown !== undefined) render()
  })
  $('dl-sign-in-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const error = $('dl-sign-in-error')
    void session.login($<HTMLInputElement>('dl-username').value.trim(), $<HTMLInputElement>('dl-password').value).then((r) => {
      $<HTMLInputElement>('dl-password').value = ''
      error.hidden = r.ok
      if (r.ok) return void start()
      error.textContent = r.reason === 'wrong' ? dt('signInWrong') : dt('signInFailed')
    })
  })
  session.onChange((me) => {
    applyTexts()
    if (me.role === null) showSignIn()
  })
}

wire()
applyTexts()
void session.check().then((me) => {
  if (me.role !== null) void start()
})
