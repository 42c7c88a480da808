import type { Logger } from '@mytho/runtime'

/** Connection faults on a timeline: what a scenario does to devices, not to their readings. */
export type ScriptStep =
  | { atRealMs: number; action: 'offline-with-will'; devices: readonly string[]; offlineMs: number }
  | { atRealMs: number; action: 'offline-without-will'; devices: readonly string[]; offlineMs: number }
  | { atRealMs: number; action: 'reconnect-storm' }

/** The part of a simulator a script drives. */
export interface Droppable {
  drop(ids: readonly string[] | 'all', opts: { will: boolean; offlineMs: number }): number
  reconnectStorm(): number
}

/** Runs the steps at their real offsets from now; returns a cancel function (call it on stop). */
export function runScript(sim: Droppable, steps: readonly ScriptStep[], log: Logger): () => void {
  const timers = steps.map((step) =>
    setTimeout(() => {
      const n =
        step.action === 'reconnect-storm'
          ? sim.reconnectStorm()
          : sim.drop(step.devices, { will: step.action === 'offline-with-will', offlineMs: step.offlineMs })
      log.info('scenario step', { ...step, affected: n })
    }, step.atRealMs).unref(),
  )
  return () => timers.forEach(clearTimeout)
}
