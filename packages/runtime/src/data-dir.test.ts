import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { secureDataDir } from './data-dir.ts'
import { createLogger } from './logger.ts'

const mode = (p: string) => (lstatSync(p).mode & 0o7777).toString(8).padStart(4, '0')

/** A logger that keeps its lines. */
function capture() {
  const lines: Record<string, unknown>[] = []
  return { lines, logger: createLogger('debug', {}, (l) => lines.push(JSON.parse(l) as Record<string, unknown>)) }
}

function tempDir() {
  const path = mkdtempSync(join(tmpdir(), 'mytho-data-dir-'))
  onTestFinished(() => rmSync(path, { recursive: true, force: true }))
  return path
}

/** A DATA_DIR as an older version (umask 022) left it: the folder 0755, SQLite files 0644, a 0755 LevelDB folder. */
function olderDataDir(root: string): string {
  const dir = join(root, 'data')
  mkdirSync(join(dir, 'broker-sessions'), { recursive: true })
  for (const f of ['meta.sqlite', 'meta.sqlite-wal', 'alerts.sqlite', 'broker-sessions/CURRENT', 'broker-sessions/000003.log']) {
    writeFileSync(join(dir, f), 'x')
    chmodSync(join(dir, f), 0o644)
  }
  chmodSync(join(dir, 'broker-sessions'), 0o755)
  chmodSync(dir, 0o755)
  return dir
}

describe('secureDataDir', () => {
  it('takes group and other bits off DATA_DIR and everything under it (0644 → 0600, 0755 → 0700) and logs the count once', () => {
    const dir = olderDataDir(tempDir())
    mkdirSync(join(dir, 'secrets'), { mode: 0o700 })
    writeFileSync(join(dir, 'secrets', 'demo-secrets.json'), '{}', { mode: 0o600 })
    writeFileSync(join(dir, 'group-only.log'), 'x')
    chmodSync(join(dir, 'group-only.log'), 0o640)
    const { lines, logger } = capture()

    expect(secureDataDir(dir, logger)).toEqual({ tightened: 8, failed: 0 })

    expect(mode(dir)).toBe('0700')
    expect(mode(join(dir, 'broker-sessions'))).toBe('0700')
    for (const f of ['meta.sqlite', 'meta.sqlite-wal', 'alerts.sqlite', 'broker-sessions/CURRENT', 'broker-sessions/000003.log', 'group-only.log'])
      expect({ f, mode: mode(join(dir, f)) }).toEqual({ f, mode: '0600' })
    // Already private: untouched, and not counted.
    expect(mode(join(dir, 'secrets'))).toBe('0700')
    expect(mode(join(dir, 'secrets', 'demo-secrets.json'))).toBe('0600')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 'warn', msg: 'DATA_DIR tightened', dir, tightened: 8 })
  })

  it('keeps the owner bits (an executable stays executable for its owner) and says nothing when all is private already', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'hook.sh'), '#!/bin/sh\n')
    chmodSync(join(dir, 'hook.sh'), 0o755)
    writeFileSync(join(dir, 'read-only.sqlite'), 'x')
    chmodSync(join(dir, 'read-only.sqlite'), 0o444)
    chmodSync(dir, 0o700)

    expect(secureDataDir(dir, capture().logger)).toEqual({ tightened: 2, failed: 0 })
    expect(mode(join(dir, 'hook.sh'))).toBe('0700')
    expect(mode(join(dir, 'read-only.sqlite'))).toBe('0400')

    const again = capture()
    expect(secureDataDir(dir, again.logger)).toEqual({ tightened: 0, failed: 0 })
    expect(again.lines).toEqual([])
  })

  it('leaves what a symbolic link points at alone (it is not DATA_DIR’s) and does not follow it', () => {
    const root = tempDir()
    const outside = join(root, 'outside')
    mkdirSync(outside)
    chmodSync(outside, 0o755)
    writeFileSync(join(outside, 'shared.txt'), 'x')
    chmodSync(join(outside, 'shared.txt'), 0o644)
    const dir = join(root, 'data')
    mkdirSync(dir, { mode: 0o700 })
    symlinkSync(outside, join(dir, 'linked-dir'))
    symlinkSync(join(outside, 'shared.txt'), join(dir, 'linked-file'))

    expect(secureDataDir(dir, capture().logger)).toEqual({ tightened: 0, failed: 0 })
    expect(mode(outside)).toBe('0755')
    expect(mode(join(outside, 'shared.txt'))).toBe('0644')
  })

  it('secures the folder a DATA_DIR given as a symbolic link names', () => {
    const root = tempDir()
    const real = olderDataDir(root)
    const dir = join(root, 'data-link')
    symlinkSync(real, dir)

    expect(secureDataDir(dir, capture().logger)).toEqual({ tightened: 7, failed: 0 })
    expect(mode(real)).toBe('0700')
    expect(mode(join(real, 'meta.sqlite'))).toBe('0600')
  })

  it('does nothing to a DATA_DIR that does not exist yet (the service creates it 0700)', () => {
    const dir = join(tempDir(), 'not-yet')
    const { lines, logger } = capture()
    expect(secureDataDir(dir, logger)).toEqual({ tightened: 0, failed: 0 })
    expect(existsSync(dir)).toBe(false)
    expect(lines).toEqual([])
  })
})
