import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const entry = fileURLToPath(new URL('../test-entries/signal-at-banner.ts', import.meta.url))

describe('runMain', () => {
  it('stops cleanly on a SIGTERM sent the moment the banner is out (no death by signal)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (b: Buffer) => (output += b.toString()))
    child.stderr.on('data', (b: Buffer) => (output += b.toString()))
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])))
    expect({ code, signal }, output).toEqual({ code: 0, signal: null })
    expect(output).toContain('stopped cleanly')
  })
})
