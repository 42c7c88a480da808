import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { parentPort } from 'node:worker_threads'

/** How late a thread's event loop ran its callbacks while measuring, ms: a stall here is the bench's, not the platform's. */
export interface LoopDelay {
  p99: number
  max: number
}

/** Starts timing this thread's event loop; `stop` ends it and gives the figures. */
export function timeLoopDelay(): { stop(): LoopDelay } {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  return {
    stop() {
      h.disable()
      return { p99: h.percentile(99) / 1e6, max: h.max / 1e6 }
    },
  }
}

/**
 * The control messages a bench's Socket.IO clients answer in their worker thread (platform/bench/live-push.ts,
 * platform/bench/latency.ts): `measure` clears the reports and starts counting, `report` stops and sends them with
 * the thread's loop delay over the measured window, `close` closes every socket and the port.
 */
export function answerBenchControl<R>(
  reports: R[],
  reset: (r: R) => void,
  sockets: readonly { close(): unknown }[],
  setMeasuring: (on: boolean) => void,
): void {
  let loop: { stop(): LoopDelay } | undefined
  parentPort!.on('message', (m: { type: 'measure' | 'report' | 'close' }) => {
    if (m.type === 'measure') {
      for (const r of reports) reset(r)
      setMeasuring(true)
      loop = timeLoopDelay()
    } else if (m.type === 'report') {
      setMeasuring(false)
      parentPort!.postMessage({ type: 'report', reports, loopDelay: loop?.stop() })
      loop = undefined
    } else {
      for (const s of sockets) s.close()
      parentPort!.close()
    }
  })
}
