/*
 * CPU seconds and resident memory of a process, from /proc (Linux only). CPU = utime + stime (clock ticks,
 * 100 per second on Linux); peak RSS = VmHWM, the kernel's high-water mark of resident memory.
 */
import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_S = 100

export interface ProcStats {
  cpuS: number
  rssMiB: number
  peakRssMiB: number
}

export function procStats(pid: number): ProcStats {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // comm may contain spaces: fields after the closing paren, 1-based index 3 = state, so utime (14) is at 11.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const cpuS = (Number(rest[11]) + Number(rest[12])) / TICKS_PER_S
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
  return { cpuS, rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 }
}

/** CPU used since `before` (same pid), peak RSS so far. */
export const procDelta = (pid: number, before: ProcStats): ProcStats => {
  const now = procStats(pid)
  return { ...now, cpuS: now.cpuS - before.cpuS }
}

/** Pid of a direct child of this process whose command name is `comm` (e.g. influxd started by @mytho/testing). */
export function childPidByName(comm: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (name === comm && ppid === process.pid) return Number(d)
    } catch {
      /* gone */
    }
  }
  return undefined
}
