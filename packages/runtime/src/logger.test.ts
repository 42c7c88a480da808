import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createLogger, withLogContext, type LogLevel } from './logger.ts'

/** A line as the logger writes it: time an ISO string, err (on a line logging an error) serialized; the other fields are read loosely. */
interface LogLine {
  time: string
  err?: { type: string; message: string; stack: string }
  [field: string]: unknown
}

/** A logger that keeps its lines, parsed. */
function capture(level: LogLevel = 'debug', base: Record<string, unknown> = {}) {
  const raw: string[] = []
  const logger = createLogger(level, base, (l) => raw.push(l))
  return { logger, raw, lines: () => raw.map((l) => JSON.parse(l) as LogLine) }
}

describe('createLogger', () => {
  it('writes one JSON line per call: level as its name, time as an ISO string, msg, then the fields', () => {
    const { logger, raw, lines } = capture('debug', { service: 'api' })
    const before = Date.now()
    logger.info('broker listening', { port: 1883 })
    expect(raw).toHaveLength(1)
    expect(raw[0]).not.toContain('\n')
    const [line] = lines()
    expect(line).toEqual({ level: 'info', time: expect.any(String), service: 'api', msg: 'broker listening', port: 1883 })
    expect(new Date(line!['time']).toISOString()).toBe(line!['time'])
    expect(Date.parse(line!['time'])).toBeGreaterThanOrEqual(before - 1)
  })

  it("never lets a caller's level, time or msg field (or child binding) overwrite the line's own; the caller's value is kept beside it", () => {
    const { logger, lines } = capture()
    logger.info('incident', { level: 3, time: 'yesterday', msg: 'other' })
    logger.child({ level: 2, time: 0, msg: 'bound' }).warn('hold not saved')
    const [own, bound] = lines()
    expect(own).toMatchObject({ level: 'info', msg: 'incident', level_: 3, time_: 'yesterday', msg_: 'other' })
    expect(new Date(own!['time']).toISOString()).toBe(own!['time'])
    expect(bound).toMatchObject({ level: 'warn', msg: 'hold not saved', level_: 2, time_: 0, msg_: 'bound' })
    expect(new Date(bound!['time']).toISOString()).toBe(bound!['time'])
  })

  it('serializes an err field with its type, message and stack (and its cause)', () => {
    const { logger, lines } = capture()
    const err = new TypeError('disk full', { cause: new Error('ENOSPC') })
    logger.error('write failed', { err, batch: 3 })
    const [line] = lines()
    expect(line).toMatchObject({ level: 'error', msg: 'write failed', batch: 3, err: { type: 'TypeError', message: expect.stringContaining('disk full') } })
    expect(line!['err']!.stack).toMatch(/^TypeError: disk full\n\s+at /)
    expect(JSON.stringify(line!['err'])).toContain('ENOSPC')
  })

  it('keeps lines below its level out, and says nothing at silent', () => {
    const info = capture('info')
    info.logger.debug('noise')
    info.logger.info('kept')
    info.logger.child({ part: 'feed' }).debug('noise too')
    expect(info.lines().map((l) => l['msg'])).toEqual(['kept'])
    const warn = capture('warn')
    warn.logger.info('dropped')
    warn.logger.warn('w')
    warn.logger.error('e')
    expect(warn.lines().map((l) => l['level'])).toEqual(['warn', 'error'])
    const silent = capture('silent')
    for (const m of ['debug', 'info', 'warn', 'error'] as const) silent.logger[m]('nothing')
    expect(silent.raw).toEqual([])
  })

  it("adds a child's bindings to each of its lines, and a grandchild's after them, without touching the parent", () => {
    const { logger, lines } = capture('debug', { service: 'api' })
    const child = logger.child({ part: 'live-feed' })
    child.child({ reqId: 'r1' }).info('a')
    logger.info('b')
    expect(lines()).toEqual([
      expect.objectContaining({ service: 'api', part: 'live-feed', reqId: 'r1', msg: 'a' }),
      expect.not.objectContaining({ part: 'live-feed' }),
    ])
  })

  it("adds the fields of withLogContext to every line written inside it, by any logger, across awaits; a caller's field wins", async () => {
    const { logger, lines } = capture('debug', { service: 'api' })
    const deeper = logger.child({ part: 'provisioning' })
    await withLogContext({ reqId: 'r-1' }, async () => {
      logger.info('one')
      await new Promise((resolve) => setTimeout(resolve, 1))
      deeper.warn('two', { reqId: 'explicit' })
      await withLogContext({ op: 'import' }, async () => deeper.info('three'))
      logger.info('four')
    })
    logger.info('outside')
    expect(lines().map(({ time: _, ...l }) => l)).toEqual([
      { level: 'info', service: 'api', reqId: 'r-1', msg: 'one' },
      { level: 'warn', service: 'api', part: 'provisioning', reqId: 'explicit', msg: 'two' },
      { level: 'info', service: 'api', part: 'provisioning', reqId: 'r-1', op: 'import', msg: 'three' },
      { level: 'info', service: 'api', reqId: 'r-1', msg: 'four' },
      { level: 'info', service: 'api', msg: 'outside' },
    ])
  })

  it('writes a message as given: no printf-style substitution of % sequences', () => {
    const { logger, lines } = capture()
    logger.info('100% of %s done %d', { n: 1 })
    expect(lines()[0]!['msg']).toBe('100% of %s done %d')
  })

  it('has written the line to stderr before returning, so a process killed right after still shows it', async () => {
    const loggerUrl = new URL('./logger.ts', import.meta.url).href
    const code = `import { createLogger } from ${JSON.stringify(loggerUrl)}
const log = createLogger('debug', { service: 'probe' })
for (let i = 0; i < 200; i++) log.debug('received', { i, pad: 'x'.repeat(500) })
process.kill(process.pid, 'SIGKILL')`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let err = ''
    child.stderr.on('data', (b: Buffer) => (err += b.toString()))
    const signal = await new Promise((resolve) => child.once('close', (_code, sig) => resolve(sig)))
    expect(signal).toBe('SIGKILL')
    const lines = err
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toHaveLength(200)
    expect(lines[199]).toMatchObject({ level: 'debug', service: 'probe', msg: 'received', i: 199 })
  })
})
