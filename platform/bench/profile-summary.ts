/*
 * Top self-time functions of V8 .cpuprofile files (node --cpu-prof): `npx tsx platform/bench/profile-summary.ts <dir|file>... [top]`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export function summarise(file: string, top = 15): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!)!
    const dt = p.timeDeltas[i] ?? 0
    const f = n.callFrame
    const url = f.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, '~/')
    const key = `${f.functionName || '(anonymous)'}  ${url ? `${url.split('/').slice(-3).join('/')}:${f.lineNumber + 1}` : ''}`
    self.set(key, (self.get(key) ?? 0) + dt)
    total += dt
  }
  const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((s, [, v]) => s + v, 0)
  const rows = [...self]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
  const busy = total - idle
  let out = `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy\n`
  for (const [k, v] of rows) out += `  ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${(v / 1e3).toFixed(0).padStart(6)} ms  ${k}\n`
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  const top = /^\d+$/.test(args.at(-1) ?? '') ? Number(args.pop()) : 15
  for (const a of args) {
    const files = statSync(a).isDirectory()
      ? readdirSync(a)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => join(a, f))
      : [a]
    for (const f of files) process.stdout.write(`${summarise(f, top)}\n`)
  }
}
