import { parentPort } from 'node:worker_threads'

/**
 * The control messages a bench's Socket.IO clients answer in their worker thread (platform/bench/live-push.ts,
 * platform/bench/latency.ts): `measure` clears the reports and starts counting, `report` stops and sends them,
 * `close` closes every socket and the port.
 */
export function answerBenchControl<R>(
  reports: R[],
  reset: (r: R) => void,
  sockets: readonly { close(): unknown }[],
  setMeasuring: (on: boolean) => void,
): void {
  parentPort!.on('message', (m: { type: 'measure' | 'report' | 'close' }) => {
    if (m.type === 'measure') {
      for (const r of reports) reset(r)
      setMeasuring(true)
    } else if (m.type === 'report') {
      setMeasuring(false)
      parentPort!.postMessage({ type: 'report', reports })
    } else {
      for (const s of sockets) s.close()
      parentPort!.close()
    }
  })
}
