import * as L from 'leaflet'
import { REPLAY_MAX_AGE_MS, replaySpeeds } from '@mytho/schema/replay'
import type { App, ReplayView } from '../app.ts'
import { parseHash, type ReplayLink } from '../deeplink.ts'
import { $ } from '../dom.ts'
import { rt, type ReplayKey } from '../i18n/replay.ts'
import { createPlayer, resolutionFor, type PlayerStatus } from './player.ts'
import './replay.css'

const H = 3_600_000
/** Mỹ Tho time is UTC+7 all year (no daylight saving): the date inputs are read and written in it, whatever the browser's zone. */
const VN_OFFSET_MS = 7 * H
/** Speed a replay starts at: an hour a minute. */
const DEFAULT_SPEED = 60
/** The slider's keyboard step (arrows) and big step (Page Up/Down), ms. */
const STEP_MS = 60_000
const BIG_STEP_MS = H
/** Dragging the slider jumps once it rests this long, ms (each jump is a request). */
const DRAG_SETTLE_MS = 200
/**
 * While playing, the instant, banner and slider are rewritten at most this often, ms: at 600× the seconds change every
 * frame, and a repaint of the bar each frame cost the map frames (software compositing).
 */
const PLAYING_PAINT_MS = 125

const stampFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Ho_Chi_Minh',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
})
/** "14:35 05/12/2026" (with seconds "14:35:07 05/12/2026"), Mỹ Tho time: the room reads the same in both languages. */
export function replayStamp(ms: number, seconds = false): string {
  const p = Object.fromEntries(stampFormat.formatToParts(ms).map((x) => [x.type, x.value]))
  return `${p['hour']}:${p['minute']}${seconds ? `:${p['second']}` : ''} ${p['day']}/${p['month']}/${p['year']}`
}
/** A datetime-local input's value in Mỹ Tho time, and back (UTC ms; NaN when empty or malformed). */
const toInput = (ms: number): string => new Date(ms + VN_OFFSET_MS).toISOString().slice(0, 16)
const fromInput = (v: string): number => (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v) ? Date.parse(`${v}:00Z`) - VN_OFFSET_MS : NaN)

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, id?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag)
  if (cls) e.className = cls
  if (id) e.id = id
  return e
}

/**
 * Replay on the map (issue #21): a "Xem lại" button on the map opens a bar to pick a past window (last 6 h, 24 h,
 * 7 days or dates in Mỹ Tho time, at most 30 days back), scrub it with a slider and play it at 1× to 3,600×. While it
 * replays, a banner says so with the instant and one button back to live; the URL hash carries the instant, window and
 * speed, so a link reopens the same past (after the registry's names, which place the devices).
 */
export function createReplayControl(app: App): void {
  const { map } = app
  const labels: [HTMLElement, ReplayKey, 'text' | 'title' | 'aria'][] = []
  const label = <T extends HTMLElement>(e: T, key: ReplayKey, how: 'text' | 'title' | 'aria' = 'text'): T => {
    labels.push([e, key, how])
    return e
  }

  // the button on the map, at its foot: a phone's alarm banner spans the top
  const Control = L.Control.extend({
    onAdd: () => {
      const box = el('div', 'leaflet-bar replay-open-box')
      const btn = label(label(el('button', 'replay-open', 'replay-open'), 'open'), 'openTitle', 'title')
      btn.type = 'button'
      btn.setAttribute('aria-controls', 'replay-bar')
      btn.setAttribute('aria-expanded', 'false')
      btn.addEventListener('click', () => toggleBar())
      box.append(btn)
      L.DomEvent.disableClickPropagation(box)
      return box
    },
  })
  new Control({ position: 'bottomleft' }).addTo(map)
  const openBtn = $<HTMLButtonElement>('replay-open')

  // the bar: period, then play, speed, the instant and the slider
  const bar = el('section', 'replay-bar', 'replay-bar')
  bar.hidden = true
  bar.setAttribute('aria-labelledby', 'replay-heading')
  const heading = label(el('h2', 'replay-heading', 'replay-heading'), 'heading')
  const close = el('button', 'replay-close', 'replay-close')
  close.type = 'button'
  close.textContent = '×'
  label(close, 'backToLive', 'aria')
  close.addEventListener('click', () => {
    if (app.replay) exit()
    toggleBar(false)
  })
  const period = el('div', 'replay-period')
  period.setAttribute('role', 'group')
  label(period, 'period', 'aria')
  const preset = (id: string, key: ReplayKey, ms: number) => {
    const b = label(el('button', 'replay-preset', id), key)
    b.type = 'button'
    b.addEventListener('click', () => {
      const to = Date.now()
      rangeBox.hidden = true
      enter({ from: to - ms, to, at: to - ms })
    })
    return b
  }
  const rangeBtn = label(el('button', 'replay-preset', 'replay-range'), 'range')
  rangeBtn.type = 'button'
  rangeBtn.setAttribute('aria-controls', 'replay-range-box')
  period.append(preset('replay-6h', 'last6h', 6 * H), preset('replay-24h', 'last24h', 24 * H), preset('replay-7d', 'last7d', 7 * 24 * H), rangeBtn)

  const rangeBox = el('form', 'replay-range-box', 'replay-range-box')
  rangeBox.hidden = true
  // checked below, with a message in the operator's words (a "to" a minute ahead is taken as now)
  rangeBox.noValidate = true
  const dateInput = (id: string, key: ReplayKey) => {
    const lab = el('label')
    const span = label(el('span'), key)
    const input = el('input', undefined, id)
    input.type = 'datetime-local'
    input.step = '60'
    lab.append(span, input)
    return [lab, input] as const
  }
  const [fromLab, fromInputEl] = dateInput('replay-from', 'from')
  const [toLab, toInputEl] = dateInput('replay-to', 'to')
  const apply = label(el('button', 'replay-apply', 'replay-apply'), 'show')
  apply.type = 'submit'
  const rangeError = el('p', 'replay-error', 'replay-range-error')
  rangeError.setAttribute('role', 'alert')
  rangeError.hidden = true
  rangeBox.append(fromLab, toLab, apply, rangeError)
  rangeBtn.addEventListener('click', () => {
    rangeBox.hidden = !rangeBox.hidden
    if (rangeBox.hidden) return
    const now = Date.now()
    const v = app.replay
    fromInputEl.value = toInput(v?.from ?? now - 24 * H)
    toInputEl.value = toInput(v?.to ?? now)
    const earliest = toInput(now - REPLAY_MAX_AGE_MS)
    for (const i of [fromInputEl, toInputEl]) {
      i.min = earliest
      i.max = toInput(now)
    }
    fromInputEl.focus()
  })
  rangeBox.addEventListener('submit', (e) => {
    e.preventDefault()
    const now = Date.now()
    const from = fromInput(fromInputEl.value)
    const to = Math.min(now, fromInput(toInputEl.value))
    const ok = from < to && from >= now - REPLAY_MAX_AGE_MS - 60_000
    rangeError.hidden = ok
    rangeError.textContent = ok ? '' : rt('badRange')
    if (!ok) return
    rangeBox.hidden = true
    enter({ from: Math.max(from, now - REPLAY_MAX_AGE_MS), to, at: from })
  })

  const player = el('div', 'replay-player')
  const playBtn = el('button', 'replay-play', 'replay-play')
  playBtn.type = 'button'
  const speedLab = el('label', 'replay-speed-label')
  const speed = el('select', 'replay-speed', 'replay-speed')
  for (const s of replaySpeeds) {
    const o = el('option')
    o.value = String(s)
    o.textContent = `${s.toLocaleString('en')}×`
    speed.append(o)
  }
  speedLab.append(label(el('span'), 'speed'), speed)
  const time = el('output', 'replay-time', 'replay-time')
  const zone = el('small', 'replay-zone')
  const timeBox = el('div', 'replay-time-box')
  timeBox.append(time, zone)
  const slider = el('input', 'replay-slider', 'replay-slider')
  slider.type = 'range'
  slider.step = String(STEP_MS)
  label(slider, 'slider', 'aria')
  const status = el('small', 'replay-status', 'replay-status')
  status.setAttribute('role', 'status')
  player.append(playBtn, speedLab, timeBox, slider, status)
  player.hidden = true
  const head = el('div', 'replay-head')
  head.append(heading, close)
  bar.append(head, period, rangeBox, player)
  L.DomEvent.disableClickPropagation(bar)
  L.DomEvent.disableScrollPropagation(bar)
  map.getContainer().append(bar)

  // the banner: nobody must take the past for the present
  const banner = el('div', 'banner replay-banner', 'replay-banner')
  banner.hidden = true
  const bannerText = el('span', 'replay-banner-text', 'replay-banner-text')
  const liveBtn = label(el('button', 'banner-btn replay-live', 'replay-live'), 'backToLive')
  liveBtn.type = 'button'
  liveBtn.addEventListener('click', () => {
    exit()
    toggleBar(false)
  })
  banner.append(bannerText, document.createTextNode(' — '), liveBtn)
  $('banner').parentElement!.prepend(banner)

  let statusNow: PlayerStatus = 'ready'
  const engine = createPlayer(app, {
    frame: (at) => showInstant(at),
    status: (s) => {
      statusNow = s
      renderStatus()
    },
  })

  let shownStamp = ''
  let shownBanner = ''
  let dragging = false
  let paintedAt = 0
  function showInstant(at: number, now = false): void {
    if (!now && app.replay?.playing) {
      const t = performance.now()
      if (t - paintedAt < PLAYING_PAINT_MS) return
      paintedAt = t
    }
    const s = replayStamp(at, true)
    if (s !== shownStamp) {
      shownStamp = s
      time.textContent = s
      time.dataset['at'] = String(at)
    }
    const b = rt('banner').replace('{t}', replayStamp(at))
    if (b !== shownBanner) {
      shownBanner = b
      bannerText.textContent = b
    }
    if (!dragging) slider.value = String(at)
  }
  function renderStatus(): void {
    const v = app.replay
    status.dataset['status'] = statusNow
    const what = statusNow === 'loading' ? rt('loading') : statusNow === 'buffering' ? rt('buffering') : statusNow === 'error' ? rt('error') : ''
    status.textContent = [what, v ? rt(`res_${resolutionFor(v.speed)}`) : ''].filter(Boolean).join(' · ')
    status.classList.toggle('replay-error', statusNow === 'error')
  }
  function render(): void {
    const v = app.replay
    banner.hidden = v === undefined
    document.body.classList.toggle('replaying', v !== undefined)
    player.hidden = v === undefined
    openBtn.classList.toggle('active', v !== undefined)
    for (const [e, key, how] of labels) {
      if (how === 'text') e.textContent = rt(key)
      else if (how === 'title') e.title = rt(key)
      else e.setAttribute('aria-label', rt(key))
    }
    zone.textContent = rt('timeZone')
    if (!v) return
    slider.min = String(v.from)
    slider.max = String(v.to)
    speed.value = String(v.speed)
    playBtn.textContent = v.playing ? `⏸ ${rt('pause')}` : `▶ ${rt('play')}`
    playBtn.setAttribute('aria-pressed', String(v.playing))
    shownStamp = ''
    shownBanner = ''
    showInstant(v.at, true)
    renderStatus()
  }

  function toggleBar(open = bar.hidden): void {
    bar.hidden = !open
    // the bar covers the button; its × closes it
    openBtn.hidden = open
    openBtn.setAttribute('aria-expanded', String(open))
    if (!open) openBtn.focus()
    if (open) (bar.querySelector<HTMLButtonElement>('#replay-6h') ?? bar).focus()
  }

  /** Starts replaying (or moves to) a window; the cursor at `at`, paused. */
  function enter(w: Omit<ReplayLink, 'speed'> & { speed?: number }): void {
    const view: ReplayView = {
      from: w.from,
      to: w.to,
      at: Math.min(w.to, Math.max(w.from, w.at)),
      speed: w.speed ?? app.replay?.speed ?? DEFAULT_SPEED,
      playing: false,
    }
    if (!app.replay) {
      engine.begin()
      app.replay = view
      // the live link's updates are held aside from here (live-view.ts), before the first replayed state lands
      app.emit('replay')
    } else {
      engine.pause()
      Object.assign(app.replay, view)
    }
    bar.hidden = false
    openBtn.hidden = true
    openBtn.setAttribute('aria-expanded', 'true')
    render()
    void engine.jump(view.at)
  }
  function exit(): void {
    if (!app.replay) return
    engine.stop()
    app.replay = undefined
    app.replayIncidents.replaceAll([])
    // back to live: the held live state and a fresh snapshot (live-view.ts), the live incidents, a hash without replay
    app.emit('replay')
    render()
  }

  playBtn.addEventListener('click', () => {
    const v = app.replay
    if (!v) return
    if (v.playing) engine.pause()
    else engine.play()
    app.emit('replay')
  })
  speed.addEventListener('change', () => {
    engine.setSpeed(Number(speed.value))
    app.emit('replay')
  })
  let settle: ReturnType<typeof setTimeout> | undefined
  const seekTo = (at: number) => {
    clearTimeout(settle)
    dragging = false
    const v = app.replay
    if (!v) return
    engine.seek(Math.min(v.to, Math.max(v.from, at)))
  }
  slider.addEventListener('input', () => {
    dragging = true
    const at = Number(slider.value)
    time.textContent = replayStamp(at, true)
    clearTimeout(settle)
    settle = setTimeout(() => seekTo(at), DRAG_SETTLE_MS)
  })
  slider.addEventListener('change', () => seekTo(Number(slider.value)))
  slider.addEventListener('keydown', (e) => {
    const v = app.replay
    if (!v || (e.key !== 'PageUp' && e.key !== 'PageDown')) return
    e.preventDefault()
    seekTo(v.at + (e.key === 'PageUp' ? BIG_STEP_MS : -BIG_STEP_MS))
  })
  bar.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') toggleBar(false)
  })

  app.on('replay', () => {
    const v = app.replay
    if (!v) return
    playBtn.textContent = v.playing ? `⏸ ${rt('pause')}` : `▶ ${rt('play')}`
    playBtn.setAttribute('aria-pressed', String(v.playing))
    // a pause, a jump, the end: the exact instant
    if (!v.playing) showInstant(v.at, true)
    renderStatus()
  })
  app.on('relabel', render)

  /** A link with a replay (opened, or edited in the address bar): that past; one without it while replaying: live. */
  const follow = (r: ReplayLink | undefined) => {
    const v = app.replay
    if (!r) return exit()
    if (v && v.from === r.from && v.to === r.to && Math.abs(v.at - r.at) < 1000 && v.speed === r.speed) return
    enter(r)
  }
  window.addEventListener('hashchange', () => follow(parseHash(location.hash).replay))
  // the devices are placed from the registry's names: a link's replay waits for them
  let opened = app.opened.replay
  app.on('names', () => {
    if (opened) follow(opened)
    opened = undefined
  })
  render()
}
