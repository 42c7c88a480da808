import type { Incident } from './schema.ts'
import type { App } from './app.ts'
import { $ } from './dom.ts'
import { getLang, t } from './i18n/index.ts'
import { incidentFactLines, incidentFacts } from './incidents-describe.ts'
import { deviceOf } from './incidents-store.ts'

/** localStorage key: "0" when the operator muted the cue. */
export const SOUND_STORAGE_KEY = 'mytho.sound'
/** How long a page opened without a user gesture waits for the browser to let it play sound, ms. */
const UNLOCK_WAIT_MS = 300

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
    /**
     * From a user gesture this always unlocks audio. Without one (a page just opened or reloaded) the browser's
     * autoplay policy decides: the answer is whether the context runs, or false once UNLOCK_WAIT_MS passed without
     * it (a blocked context's resume() never settles).
     */
    arm(): Promise<boolean> {
      try {
        ctx ??= Ctx ? new Ctx() : undefined
      } catch {
        ctx = undefined // no audio here: the banner is the cue
      }
      const c = ctx
      if (!c) return Promise.resolve(false)
      if (c.state === 'running') return Promise.resolve(true)
      return Promise.race([
        c.resume().then(
          () => c.state === 'running',
          () => false,
        ),
        new Promise<boolean>((r) => setTimeout(() => r(c.state === 'running'), UNLOCK_WAIT_MS)),
      ])
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

/** Critical and not yet acknowledged: what the banner, the sound and the tab title are about until someone takes it. */
export const needsOperator = (i: Incident): boolean => i.severity === 'critical' && i.acknowledgedAt === null && i.state !== 'closed'

/**
 * The alarm that stays until someone takes it (issue #17, finding 4). The red banner lists every critical incident
 * nobody has acknowledged — also those already there when the map is opened or reloaded — each saying where, how
 * bad and what to do; it goes only when they are acknowledged. The tab title carries their count. Sound plays when
 * the browser allows it; when it does not, the banner offers "Bật âm thanh" (a click is the gesture that unlocks
 * audio). A new critical incident and every engine reminder cue again (banner, sound, desktop notification), also
 * after the operator hid the banner. `data-cues` on the banner counts the cues (what tests wait on).
 */
export function createIncidentCue(app: App): void {
  const banner = $('incident-banner')
  const soundBtn = $<HTMLButtonElement>('sound')
  const notifyBtn = $<HTMLButtonElement>('notify')
  const beeper = createBeeper()
  let wanted = true
  try {
    wanted = localStorage.getItem(SOUND_STORAGE_KEY) !== '0'
  } catch {
    /* default: on */
  }
  /** The operator hid the banner; the next cue shows it again. */
  let hidden = false
  /** Sound wanted but the browser has not let the page play it yet. */
  let blocked = false
  let cues = 0
  /** Incidents already cued, so a reconnect's list does not cue them again. */
  const cued = new Set<string>()

  const pending = (): Incident[] => [...app.incidents.active.values()].filter(needsOperator).sort((a, b) => a.raisedAt - b.raisedAt)

  const relabelSound = () => {
    const on = wanted && beeper.armed
    soundBtn.textContent = on ? t('soundOff') : t('soundOn')
    soundBtn.setAttribute('aria-pressed', String(on))
    soundBtn.classList.toggle('on', on)
  }
  const hasNotifications = typeof Notification !== 'undefined'
  const relabelNotify = () => {
    notifyBtn.hidden = !hasNotifications
    if (!hasNotifications) return
    const p = Notification.permission
    notifyBtn.textContent = p === 'granted' ? t('notifyOnState') : p === 'denied' ? t('notifyDenied') : t('notifyAsk')
    // the header may cut the label short on a narrower screen: the whole sentence stays on hover and for screen readers
    notifyBtn.title = notifyBtn.textContent
    notifyBtn.disabled = p !== 'default'
    notifyBtn.dataset['permission'] = p
  }
  const renderTitle = (n: number) => {
    document.title = n > 0 ? `(${n}) ${t('title')}` : t('title')
  }

  // the same two buttons on every render, so a click is never lost to a re-render (a reminder, the clock)
  const unlock = document.createElement('button')
  unlock.type = 'button'
  unlock.id = 'sound-unlock'
  unlock.className = 'banner-btn'
  unlock.addEventListener('click', (e) => {
    e.stopPropagation()
    void beeper.arm().then((ok) => {
      blocked = !ok
      if (ok) beeper.beep()
      relabelSound()
      render()
    })
  })
  const hide = document.createElement('button')
  hide.type = 'button'
  hide.className = 'banner-btn banner-hide'
  hide.addEventListener('click', (e) => {
    e.stopPropagation()
    hidden = true
    render()
  })

  const render = () => {
    const list = pending()
    renderTitle(list.length)
    banner.hidden = list.length === 0 || hidden
    banner.dataset['count'] = String(list.length)
    banner.dataset['sound'] = !wanted ? 'muted' : blocked ? 'blocked' : beeper.armed ? 'on' : 'waiting'
    banner.replaceChildren()
    if (list.length === 0) return
    const lang = getLang()
    const top = document.createElement('div')
    top.className = 'incident-banner-top'
    const label = document.createElement('strong')
    label.textContent = `⚠ ${list.length === 1 ? t('criticalUnacked1') : t('criticalUnacked').replace('{n}', String(list.length))}`
    top.append(label)
    unlock.textContent = t('soundUnlock')
    if (wanted && blocked) top.append(unlock)
    hide.textContent = t('bannerHide')
    top.append(hide)
    banner.append(top)
    for (const i of list) {
      const item = document.createElement('div')
      item.className = 'incident-banner-item'
      item.dataset['incidentId'] = i.id
      const title = document.createElement('div')
      title.className = 'incident-banner-title'
      title.textContent = i.title[lang]
      item.append(title, ...incidentFactLines(incidentFacts(i, app.store)))
      const dev = deviceOf(i)
      if (dev !== undefined) item.addEventListener('click', () => app.emit('open', dev, true))
      banner.append(item)
    }
    const hint = document.createElement('small')
    hint.textContent = t('bannerHint')
    banner.append(hint)
  }

  const notify = (i: Incident, reminder: boolean) => {
    if (!hasNotifications || Notification.permission !== 'granted') return
    try {
      const f = incidentFacts(i, app.store)
      const body = [f.ward !== undefined ? `${f.device} — ${f.ward}` : f.device, f.value, f.since, f.action].filter((x) => x !== undefined).join('\n')
      const n = new Notification(`${reminder ? `${t('reminder')}: ` : ''}${i.title[getLang()]}`, { body, tag: i.id })
      n.onclick = () => {
        window.focus()
        const dev = deviceOf(i)
        if (dev !== undefined) app.emit('open', dev, true)
      }
    } catch {
      /* a notification that cannot be shown must not stop the banner */
    }
  }

  /** Banner back on screen (flashing from the start), sound, desktop notification. */
  const cue = (list: Incident[], reminder: boolean) => {
    for (const i of list) cued.add(i.id)
    hidden = false
    cues++
    banner.dataset['cues'] = String(cues)
    // restart the flash: a reminder should look like an alarm, not like the banner that was already there
    banner.style.animation = 'none'
    void banner.offsetWidth
    banner.style.animation = ''
    for (const i of list) notify(i, reminder)
    if (!wanted) return render()
    if (beeper.armed) {
      beeper.beep()
      return render()
    }
    render()
    void beeper.arm().then((ok) => {
      blocked = !ok
      if (ok) beeper.beep()
      relabelSound()
      render()
    })
  }

  // the first click anywhere is the gesture that lets the page play sound
  document.addEventListener(
    'pointerdown',
    () => {
      if (!wanted) return
      void beeper.arm().then((ok) => {
        if (ok && blocked) {
          blocked = false
          render()
        }
        relabelSound()
      })
    },
    { capture: true, once: true },
  )
  soundBtn.addEventListener('click', () => {
    if (wanted && beeper.armed) wanted = false
    else {
      wanted = true
      void beeper.arm().then((ok) => {
        blocked = !ok
        relabelSound()
        render()
      })
    }
    try {
      localStorage.setItem(SOUND_STORAGE_KEY, wanted ? '1' : '0')
    } catch {
      /* not remembered */
    }
    relabelSound()
    render()
  })
  notifyBtn.addEventListener('click', () => {
    if (!hasNotifications) return
    void Notification.requestPermission().then(relabelNotify, relabelNotify)
  })
  relabelSound()
  relabelNotify()
  render()

  app.incidents.on((e) => {
    if (e.type === 'replaced') {
      // on opening the map (and after a reconnect): cue what nobody has taken and this page has not cued yet
      const fresh = pending().filter((i) => !cued.has(i.id))
      if (fresh.length > 0) return cue(fresh, false)
      return render()
    }
    const i = e.incident
    if (needsOperator(i) && (e.reminded || (e.fresh && i.state === 'open'))) return cue([i], e.reminded)
    render()
  })
  // names and wards of the registry arrive after the first snapshot; "since" and "how long" move with the clock
  app.on('names', render)
  setInterval(() => {
    if (!banner.hidden) render()
  }, 60_000)
  app.on('relabel', () => {
    relabelSound()
    relabelNotify()
    render()
  })
}
