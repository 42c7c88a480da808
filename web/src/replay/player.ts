import { REPLAY_RAW_MAX_MS, REPLAY_WINDOW_MAX_MS, type ReplayResolution, type ReplayRow } from '@mytho/schema/replay'
import type { Incident, LiveDeviceState } from '../schema.ts'
import type { App } from '../app.ts'
import { incidentAt, LevelTexts, shownAt } from './incident-at.ts'
import { fetchReplayChanges, fetchReplayState } from './replay-api.ts'

/** Above this speed the map plays 5-minute roll-ups: raw readings of a big fleet would be too many rows a second. */
const RAW_MAX_SPEED = 600
/**
 * How much of the past one changes request covers at a speed. Up to RAW_MAX_SPEED: about 3 s of playing (at least 15
 * minutes), within the API's raw windows (≤ REPLAY_RAW_MAX_MS): small answers, so parsing one (~2 MB at 600× over
 * 10,000 devices reporting every 5 minutes) costs no visible frame. Faster: the shortest window the API answers from
 * the roll-ups.
 */
export const windowFor = (speed: number): number =>
  speed <= RAW_MAX_SPEED ? Math.min(REPLAY_RAW_MAX_MS, Math.max(15 * 60_000, speed * 3_000)) : Math.min(REPLAY_WINDOW_MAX_MS, REPLAY_RAW_MAX_MS + 5 * 60_000)
export const resolutionFor = (speed: number): ReplayResolution => (windowFor(speed) <= REPLAY_RAW_MAX_MS ? 'raw' : '5m')

/** Real time between `replay` events while playing (the hash, the chart, the incident ages follow them), ms. */
const NOTIFY_MS = 1000
/**
 * While playing, what the cursor passed is applied at most this often, ms: the live feed's batch cadence (50 ms). Each
 * application redraws the devices' canvas, and uploading it every frame (software compositing) held the map at 25–30
 * fps at 10,000 devices; every 50 ms it stays at the live map's rate.
 */
const APPLY_MS = 50

interface QueuedFrame {
  t: number
  rows: ReplayRow[]
  ids: string[]
}

export type PlayerStatus = 'loading' | 'ready' | 'buffering' | 'error'

/**
 * Drives the store and app.replayIncidents from the replay API. A jump fetches the state at the instant (one request)
 * and draws it as a snapshot; playing fetches the changes ahead in windows (the next one asked once less than a window
 * is left) and applies, once per animation frame, every frame the cursor passed as one store update: the
 * cluster layer's per-status count path, the same as a live batch, not a rebuild.
 */
export function createPlayer(app: App, on: { frame(at: number): void; status(s: PlayerStatus): void }) {
  const { store } = app
  const texts = new LevelTexts()
  /** Every incident the replay knows, with the most events seen. */
  let known = new Map<string, Incident>()
  let queue: QueuedFrame[] = []
  let next = 0
  /** The instant the applied data reaches (the cursor) and the one the fetched data reaches. */
  let cursor = 0
  let loadedUntil = 0
  let fetching = false
  let generation = 0
  let abort = new AbortController()
  let raf = 0
  let lastTs: number | undefined
  let lastNotify = 0
  let lastApply = 0
  /** Where the cursor is while playing, ahead of what is applied (`cursor`) by less than APPLY_MS of playing. */
  let playhead = 0
  /** Live states at the start, for devices the registry's list does not place (names not loaded yet). */
  let base = new Map<string, LiveDeviceState>()
  let status: PlayerStatus = 'ready'
  const setStatus = (s: PlayerStatus) => {
    if (s === status) return
    status = s
    on.status(s)
  }

  function toState(id: string, row: ReplayRow): LiveDeviceState | undefined {
    const m = store.meta.get(id) ?? base.get(id)
    if (!m) return undefined
    const [, st, ts, fields] = row
    return {
      deviceId: id,
      kind: m.kind,
      ward: m.ward,
      lat: m.lat,
      lon: m.lon,
      status: st,
      lastSeen: ts,
      connection: null,
      lastReading: ts !== null && fields ? { deviceId: id, kind: m.kind, ward: m.ward, ts, tsSource: 'device', receivedAt: ts, fields } : null,
    }
  }

  const merge = (list: readonly Incident[]) => {
    texts.learn(list)
    for (const i of list) {
      const held = known.get(i.id)
      if (!held || held.events.length <= i.events.length) known.set(i.id, i)
    }
  }

  /** Applies the frames and incident events in (cursor, to] and moves the cursor there. */
  function advance(to: number): void {
    const from = cursor
    const changed = new Map<string, LiveDeviceState>()
    while (next < queue.length && queue[next]!.t <= to) {
      const f = queue[next++]!
      for (const row of f.rows) {
        const id = f.ids[row[0]]
        const d = id !== undefined ? toState(id, row) : undefined
        if (d) changed.set(id!, d)
      }
    }
    // applied frames go, now and then, so a long play does not keep them all
    if (next > 2000) {
      queue = queue.slice(next)
      next = 0
    }
    if (changed.size) store.update([...changed.values()])
    for (const inc of known.values()) {
      if (!inc.events.some((e) => e.at > from && e.at <= to)) continue
      const now = incidentAt(inc, to, texts)
      if (!now) continue
      if (shownAt(now)) app.replayIncidents.upsert(now)
      else if (app.replayIncidents.active.has(now.id)) app.replayIncidents.upsert({ ...now, state: 'closed' })
    }
    cursor = to
  }

  async function fetchAhead(): Promise<void> {
    const v = app.replay
    if (!v || fetching || loadedUntil >= v.to) return
    const w = windowFor(v.speed)
    if (loadedUntil - cursor > w) return
    fetching = true
    const gen = generation
    const from = loadedUntil
    const to = Math.min(v.to, from + w)
    try {
      const c = await fetchReplayChanges(from, to, abort.signal)
      if (gen !== generation) return
      merge(c.incidents)
      for (const f of c.frames) if (f.t >= from && f.t < to) queue.push({ t: f.t, rows: f.rows, ids: c.ids })
      loadedUntil = to
      if (status === 'buffering') setStatus('ready')
    } catch (e) {
      if (gen === generation && !(e instanceof DOMException && e.name === 'AbortError')) {
        pauseLoop()
        setStatus('error')
      }
      return
    } finally {
      if (gen === generation) fetching = false
    }
    void fetchAhead()
  }

  function loop(ts: number): void {
    raf = 0
    const v = app.replay
    if (!v?.playing) return
    const dt = lastTs === undefined ? 0 : Math.min(250, ts - lastTs)
    lastTs = ts
    const limit = Math.min(loadedUntil, v.to)
    playhead = Math.max(playhead, cursor) + dt * v.speed
    if (playhead > limit) {
      playhead = limit
      if (limit < v.to) setStatus('buffering')
    }
    if (playhead > cursor && (ts - lastApply >= APPLY_MS || playhead >= v.to)) {
      lastApply = ts
      advance(playhead)
      v.at = Math.round(cursor)
      on.frame(v.at)
    }
    if (cursor >= v.to) {
      v.playing = false
      app.emit('replay')
      return
    }
    void fetchAhead()
    if (ts - lastNotify >= NOTIFY_MS) {
      lastNotify = ts
      app.emit('replay')
    }
    raf = requestAnimationFrame(loop)
  }
  const pauseLoop = () => {
    cancelAnimationFrame(raf)
    raf = 0
    lastTs = undefined
    playhead = cursor
  }

  return {
    /** The live state before replay began (the hold keeps its own copy): places devices the names do not. */
    begin(): void {
      base = new Map(store.devices)
    },
    /** The state at `at` (one request), then playing on from it if the view says so. */
    async jump(at: number): Promise<void> {
      const v = app.replay
      if (!v) return
      pauseLoop()
      generation++
      abort.abort()
      abort = new AbortController()
      const gen = generation
      queue = []
      next = 0
      fetching = false
      cursor = at
      loadedUntil = at
      v.at = at
      on.frame(at)
      setStatus('loading')
      try {
        const s = await fetchReplayState(at, resolutionFor(v.speed), abort.signal)
        if (gen !== generation || !app.replay) return
        const list: LiveDeviceState[] = []
        for (const row of s.rows) {
          const id = s.ids[row[0]]
          const d = id !== undefined ? toState(id, row) : undefined
          if (d) list.push(d)
        }
        known = new Map()
        merge(s.incidents)
        store.snapshot(list, true)
        app.replayIncidents.replaceAll(s.incidents.filter(shownAt))
        setStatus('ready')
        app.emit('replay')
        if (app.replay.playing) this.play()
      } catch (e) {
        if (gen === generation && !(e instanceof DOMException && e.name === 'AbortError')) setStatus('error')
      }
    },
    /**
     * Moves the cursor to `at`: forward within what is fetched by applying the frames on the way (a keyboard step, the
     * slider dragged ahead while playing), else a jump.
     */
    seek(at: number): void {
      if (status === 'ready' && at >= cursor && at <= loadedUntil) {
        advance(at)
        app.replay!.at = at
        on.frame(at)
        app.emit('replay')
        return
      }
      void this.jump(at)
    },
    play(): void {
      const v = app.replay
      if (!v) return
      if (cursor >= v.to) return void this.jump(v.from).then(() => this.play())
      v.playing = true
      if (status === 'loading') return
      if (!raf) raf = requestAnimationFrame(loop)
      void fetchAhead()
    },
    pause(): void {
      pauseLoop()
      if (app.replay) app.replay.playing = false
    },
    /** A new speed: the windows ahead are sized for it from the next request on. */
    setSpeed(speed: number): void {
      if (app.replay) app.replay.speed = speed
    },
    stop(): void {
      pauseLoop()
      generation++
      abort.abort()
      queue = []
      known = new Map()
      base = new Map()
      setStatus('ready')
    },
    get status(): PlayerStatus {
      return status
    },
    get cursor(): number {
      return cursor
    },
  }
}
export type Player = ReturnType<typeof createPlayer>
