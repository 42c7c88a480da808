import type { PackedIndex } from './cluster-index.ts'
import type { IndexRequest } from './cluster-worker.ts'
import type { Columns } from './schema.ts'

/*
 * The main thread's side of cluster-worker.ts. The worker is started by the page's entry, so that its script is
 * loaded and compiled by the time the first snapshot comes; without Worker support, or when it fails or is late,
 * the answer is undefined and the layer builds the index itself, as before.
 */

/** Longest wait for the worker's index, ms: past it the layer builds its own (a stalled worker must not hold the map). */
const WORKER_WAIT_MS = 1500

let worker: Worker | undefined
let failed = false
let next = 0
const waiting = new Map<number, (p: PackedIndex | undefined) => void>()

export function startIndexWorker(): void {
  if (worker || failed || typeof Worker === 'undefined') return
  try {
    worker = new Worker(new URL('./cluster-worker.ts', import.meta.url), { type: 'module', name: 'cluster-index' })
  } catch {
    failed = true
    return
  }
  worker.onmessage = (e: MessageEvent<{ id: number; packed: PackedIndex }>) => {
    waiting.get(e.data.id)?.(e.data.packed)
    waiting.delete(e.data.id)
  }
  worker.onerror = () => {
    // every waiting build falls back to the main thread, and so do later ones
    failed = true
    worker?.terminate()
    worker = undefined
    for (const done of waiting.values()) done(undefined)
    waiting.clear()
  }
}

/** The cluster index of a snapshot's devices, in its order, with their statuses; undefined: build it yourself. */
export function buildInWorker(c: Pick<Columns, 'lon' | 'lat' | 'status'>): Promise<PackedIndex | undefined> {
  startIndexWorker()
  const w = worker
  if (!w) return Promise.resolve(undefined)
  const id = next++
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting.delete(id)
      resolve(undefined)
    }, WORKER_WAIT_MS)
    waiting.set(id, (p) => {
      clearTimeout(timer)
      resolve(p)
    })
    // copies: the columns stay readable here (10,000 devices: 170 kB)
    const request: IndexRequest = { id, lon: c.lon.slice(), lat: c.lat.slice(), status: c.status.slice() }
    w.postMessage(request, [request.lon.buffer, request.lat.buffer, request.status.buffer])
  })
}
