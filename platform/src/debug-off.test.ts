import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const run = promisify(execFile)

/** The long-running services, and `npm start`'s composer of them all: each loads debug-off before any library. */
const SERVICE_ENTRIES = [
  'broker/src/main.ts',
  'ingest/src/main.ts',
  'api/src/main.ts',
  'devices-sim/src/main.ts',
  'platform/src/embedded-main.ts',
  'platform/src/start-all.ts',
]

// A fresh process, as a service starts: debug-off first, then the libraries of the broker's hot path.
const probe = `
import '@mytho/runtime/debug-off'
import { createRequire } from 'node:module'
const here = createRequire(process.cwd() + '/')
const quiet = {}
for (const lib of ['mqtt-packet', 'ioredis', 'mqtt']) quiet[lib] = createRequire(here.resolve(lib))('debug').quietUnlessEnabledAtStart === true
const mqttPacket = here('mqtt-packet')
const packet = mqttPacket.generate({ cmd: 'publish', topic: 'mytho/v1/devices/d/readings', payload: Buffer.from('{}'), qos: 1, messageId: 7, retain: false, dup: false })
let parsed = 0
const parser = mqttPacket.parser()
parser.on('packet', () => parsed++)
parser.parse(packet)
process.stdout.write(JSON.stringify({ quiet, parsed }))
`

async function startLike(env: Record<string, string>): Promise<{ out: { quiet: Record<string, boolean>; parsed: number }; err: string }> {
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], {
    cwd: `${root}platform`,
    env: { PATH: process.env['PATH'] ?? '', ...env },
  })
  return { out: JSON.parse(stdout) as { quiet: Record<string, boolean>; parsed: number }, err: stderr }
}

describe('debug loggers off unless DEBUG names them at start (packages/runtime/src/debug-off.ts)', () => {
  it('gives mqtt-packet, ioredis and MQTT.js the quiet factory, and they still work', async () => {
    const { out, err } = await startLike({})
    expect(out.quiet).toEqual({ 'mqtt-packet': true, ioredis: true, mqtt: true })
    expect(out.parsed).toBe(1)
    expect(err).toBe('')
  })

  it('keeps DEBUG working for what it names at start: the on-call engineer can still trace the packets', async () => {
    const { out, err } = await startLike({ DEBUG: 'mqtt-packet:parser' })
    expect(out.parsed).toBe(1)
    expect(err).toContain('mqtt-packet:parser')
    expect(err).not.toContain('mqtt-packet:generate')
  })

  it('is the first import of every service entry, before any library loads', () => {
    for (const entry of SERVICE_ENTRIES) {
      const firstImport = readFileSync(`${root}${entry}`, 'utf8')
        .split('\n')
        .find((line) => line.startsWith('import '))
      expect(firstImport, entry).toBe(`import '@mytho/runtime/debug-off'`)
    }
  })
})
