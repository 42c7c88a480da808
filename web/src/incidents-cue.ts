import type { Incident } from './schema.ts'
import type { App } from './app.ts'
import { $ } from './dom.ts'
import { getLang, t } from './i18n/index.ts'
import { deviceOf } from './incidents-store.ts'

/** localStorage key: "0" when the operator muted the cue. */
export const SOUND_STORAGE_KEY = 'mytho.sound'

/**
 * Two short tones, synthesized (no audio file to load). Browsers keep an AudioContext suspended until a user
 * gesture, so it is created or resumed on the first click anywhere; before that only the banner shows.
 */
function createBeeper() {
  const Ctx =
    (window as unknown as { AudioContext?: typeof AudioContext; webkitAudioContext?: typeof AudioContext }).AudioContext ??
    (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext
  let ctx: AudioContext | undefined
  return {
    get armed(): boolean {
      return ctx?.state === 'running'
    },
    /** Call from a user gesture. */
    arm(): void {
      try {
        ctx ??= Ctx ? new Ctx() : undefined
        void ctx?.resume().catch(() => undefined)
      } catch {
        ctx = undefined // no audio here: the banner is the cue
      }
    },
    beep(): void {
      try {
        if (ctx?.state !== 'running') return
        const t0 = ctx.currentTime
        for (const [at, hz] of [
          [0, 880],
          [0.25, 660],
        ] as const) {
          const osc = ctx.createOscillator()
          const gain = ctx.createGain()
          osc.type = 'square'
          osc.frequency.value = hz
          gain.gain.setValueAtTime(0.0001, t0 + at)
          gain.gain.exponentialRampToValueAtTime(0.2, t0 + at + 0.02)
          gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + 0.2)
          osc.connect(gain).connect(ctx.destination)
          osc.start(t0 + at)
          osc.stop(t0 + at + 0.22)
        }
      } catch {
        /* never let a sound problem stop the map */
      }
    },
  }
}

/**
 * The cue for a new critical incident: a flashing red banner with its title that stays until clicked (the click
 * also opens its device), and a beep when sound is on. Several in a row show the latest with a count.
 */
export function createIncidentCue(app: App): void {
  const banner = $('incident-banner')
  const soundBtn = $<HTMLButtonElement>('sound')
  const beeper = createBeeper()
  let wanted = true
  try {
    wanted = localStorage.getItem(SOUND_STORAGE_KEY) !== '0'
  } catch {
    /* default: on */
  }
  let pending: Incident[] = []

  const relabelSound = () => {
    const on = wanted && beeper.armed
    soundBtn.textContent = on ? t('soundOff') : t('soundOn')
    soundBtn.setAttribute('aria-pressed', String(on))
    soundBtn.classList.toggle('on', on)
  }
  const render = () => {
    const latest = pending.at(-1)
    banner.hidden = !latest
    banner.replaceChildren()
    if (!latest) return
    const label = document.createElement('strong')
    label.textContent = `⚠ ${t('newIncident')}: `
    const title = document.createElement('span')
    title.className = 'incident-banner-title'
    title.textContent = latest.title[getLang()]
    const more = document.createElement('span')
    more.textContent = pending.length > 1 ? ` (+${pending.length - 1})` : ''
    const hint = document.createElement('small')
    hint.textContent = t('dismissHint')
    banner.append(label, title, more, hint)
  }

  // the first click anywhere is the gesture that lets the page play sound
  document.addEventListener(
    'pointerdown',
    () => {
      if (wanted) beeper.arm()
      setTimeout(relabelSound, 50)
    },
    { capture: true, once: true },
  )
  soundBtn.addEventListener('click', () => {
    if (wanted && beeper.armed) wanted = false
    else {
      wanted = true
      beeper.arm()
    }
    try {
      localStorage.setItem(SOUND_STORAGE_KEY, wanted ? '1' : '0')
    } catch {
      /* not remembered */
    }
    setTimeout(relabelSound, 50)
  })
  banner.addEventListener('click', () => {
    const latest = pending.at(-1)
    pending = []
    render()
    const dev = latest && deviceOf(latest)
    if (dev !== undefined) app.emit('open', dev, true)
  })
  relabelSound()
  render()

  // a fresh (raised, escalated, reopened) incident change; only critical ones are cued
  app.incidents.on((e) => {
    if (e.type !== 'changed' || !e.fresh) return
    const i = e.incident
    if (i.severity !== 'critical' || i.state !== 'open') return
    pending = [...pending.filter((p) => p.id !== i.id), i]
    render()
    if (wanted) beeper.beep()
  })
  app.on('relabel', () => {
    relabelSound()
    render()
  })
}
