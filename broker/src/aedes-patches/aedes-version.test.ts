import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/*
 * The modules in this folder patch Aedes, its persistences and its emitters in place: they wrap methods and read
 * internals (client.subscriptions, client.duplicates, deliver0/deliverQoS, the persistences' key layouts, the order
 * of PUBACK and publish in Aedes's publish handler) that no semver promise covers. An upgrade could break one
 * silently, so this test fails on any version other than the ones the patches were written and tested against.
 */

/**
 * The installed versions every patch in broker/src/aedes-patches/ was written against.
 * On a change: re-check each patch (its header says what it patches) against the new version's source, run the
 * broker, ingest and platform tests, then update.
 */
const PATCHED_VERSIONS = {
  aedes: '1.2.0',
  'aedes-persistence': '11.0.0',
  'aedes-persistence-level': '9.2.0',
  'aedes-persistence-redis': '12.0.0',
  mqemitter: '7.1.0',
  // straight-to-sole-handler.ts wraps mqemitter's matcher and builds the packet Aedes's publish builds
  qlobber: '8.0.1',
  'aedes-packet (aedes)': '4.0.1',
  'mqemitter-redis': '7.2.1',
  // level-outgoing.ts writes queue records as aedes-persistence-level does, with its own copies of these two
  'aedes-packet': '3.0.0',
  'msgpack-lite': '0.1.27',
} as const

/** Who requires each package, so the copy found is the one that runs (as Node looks: node_modules up the tree). */
const REQUIRED_FROM: Record<keyof typeof PATCHED_VERSIONS, string> = {
  aedes: 'broker',
  'aedes-persistence': 'aedes',
  'aedes-persistence-level': 'broker',
  'aedes-persistence-redis': 'broker',
  mqemitter: 'aedes',
  qlobber: 'mqemitter',
  'aedes-packet (aedes)': 'aedes',
  'mqemitter-redis': 'broker',
  'aedes-packet': 'aedes-persistence-level',
  'msgpack-lite': 'aedes-persistence-level',
}

const brokerDir = fileURLToPath(new URL('../..', import.meta.url))

/** The directory of `name` as Node resolves it from `fromDir` (package.json is not in every package's exports). */
function packageDir(name: string, fromDir: string): string {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return candidate
    if (dirname(dir) === dir) throw new Error(`${name} is not installed (looked up from ${fromDir})`)
  }
}

/** A key names the package, then, in brackets, whose copy it is when two copies run. */
function installed(key: keyof typeof PATCHED_VERSIONS): string {
  const from = REQUIRED_FROM[key]
  const fromDir = from === 'broker' ? brokerDir : packageDir(from, brokerDir)
  const name = key.replace(/ \(.*\)$/, '')
  return (JSON.parse(readFileSync(join(packageDir(name, fromDir), 'package.json'), 'utf8')) as { version: string }).version
}

describe('the Aedes patches (broker/src/aedes-patches/)', () => {
  it('run on the versions they were written against', () => {
    const found = Object.fromEntries(Object.keys(PATCHED_VERSIONS).map((name) => [name, installed(name as keyof typeof PATCHED_VERSIONS)]))
    const changed = Object.entries(PATCHED_VERSIONS)
      .filter(([name, version]) => found[name] !== version)
      .map(([name, version]) => `${name}: patched against ${version}, installed ${found[name]}`)
    expect(changed, `re-check each patch in broker/src/aedes-patches/ against the new versions, then update PATCHED_VERSIONS:\n${changed.join('\n')}`).toEqual(
      [],
    )
  })
})
