import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { makeTempDir } from '@mytho/testing'
import { buildWeb } from './harness.ts'

/** Names only the page's test hook (src/test-hook.ts) puts in the bundle: object keys survive minification. */
const HOOK_NAMES = ['__mytho', 'lagSamples', 'resetLag']

/** Every file of a build of the map, as text: the chunks, and the page (which could inline a script). */
async function bundle(mode: 'production' | 'test'): Promise<{ file: string; text: string }[]> {
  const tmp = makeTempDir(`mytho-web-${mode}-`)
  onTestFinished(tmp.cleanup)
  const dist = await buildWeb(join(tmp.path, 'dist'), mode)
  return readdirSync(dist, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(js|html)$/.test(f))
    .map((f) => ({ file: relative(dist, join(dist, f)), text: readFileSync(join(dist, f), 'utf8') }))
}
const hookNamesIn = (files: { file: string; text: string }[]) =>
  files.flatMap(({ file, text }) => HOOK_NAMES.filter((n) => text.includes(n)).map((n) => `${file}: ${n}`))

describe('the map as `npm run build:web` builds it', () => {
  it('ships no test hook to the browser; the tests and the bench build theirs with mode test', async () => {
    const production = await bundle('production')
    expect(production.some((f) => f.file.endsWith('.js'))).toBe(true)
    expect(hookNamesIn(production)).toEqual([])
    // the same sources in mode test: the names above are the hook's, so their absence means it was left out
    expect(hookNamesIn(await bundle('test')).map((h) => h.replace(/^.*: /, ''))).toEqual(expect.arrayContaining(HOOK_NAMES))
  })
})
