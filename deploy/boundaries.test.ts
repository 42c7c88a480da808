import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cruise, type ICruiseResult } from 'dependency-cruiser'
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options'
import { afterAll, describe, expect, it } from 'vitest'

/*
 * The boundaries of README's Layout, held by the build: .dependency-cruiser.cjs states what may import what and
 * forbids cycles; this test cruises every workspace with it. On a failure, the message lists each violation as
 * "rule: from → to" (a cycle as its whole path); the rule's comment in .dependency-cruiser.cjs says why it exists.
 */

const root = fileURLToPath(new URL('..', import.meta.url))
const CONFIG = join(root, '.dependency-cruiser.cjs')
const WORKSPACES = ['packages', 'broker', 'ingest', 'api', 'web/src', 'web/test', 'web/vite.config.ts', 'devices-sim', 'platform', 'deploy', 'vitest.config.ts']

async function cruiseAt(baseDir: string, paths: string[]): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(CONFIG)
  const { output } = await cruise(paths, { ...options, validate: true, baseDir })
  if (typeof output === 'string') throw new Error(`dependency-cruiser gave text, not a result: ${output}`)
  return output
}

function violations(result: ICruiseResult): string[] {
  return (result.summary.violations ?? []).map((v) =>
    v.cycle && v.cycle.length > 0 ? `${v.rule.name}: ${[v.from, ...v.cycle.map((c) => c.name)].join(' → ')}` : `${v.rule.name}: ${v.from} → ${v.to}`,
  )
}

describe('what may import what (.dependency-cruiser.cjs)', () => {
  it('holds across every workspace, with no import cycle', async () => {
    const result = await cruiseAt(root, WORKSPACES)
    // a cruise that found (almost) nothing would pass vacuously: a wrong path or a parser that read no imports
    expect(result.summary.totalCruised).toBeGreaterThan(300)
    expect(result.summary.totalDependenciesCruised).toBeGreaterThan(1000)
    expect(violations(result), violations(result).join('\n')).toEqual([])
  })

  describe('each rule fires on a tree that breaks it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'boundaries-'))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))
    const file = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true })
      writeFileSync(join(dir, path), text)
    }
    file('packages/schema/src/index.ts', "import { log } from '../../runtime/src/index.ts'\nexport const schema = log\n")
    file('packages/runtime/src/index.ts', "import { api } from '../../../api/src/index.ts'\nexport const log = api\n")
    file('packages/storage/src/index.ts', 'export const storage = 1\n')
    file('api/src/index.ts', "import { broker } from '../../broker/src/index.ts'\nexport const api = broker\n")
    file('broker/src/index.ts', "import { storage } from '../../packages/storage/src/index.ts'\nexport const broker = storage\n")
    file('broker/src/a.ts', "import { b } from './b.ts'\nexport const a = b\n")
    file('broker/src/b.ts', "import type { a } from './a.ts'\nexport const b: typeof a = 1\n")
    file('broker/test/uses-api.test.ts', "import { api } from '../../api/src/index.ts'\nexport const t = api\n")
    file(
      'web/src/main.ts',
      "import { readFileSync } from 'node:fs'\nimport { log } from '../../packages/runtime/src/index.ts'\nexport const m = [readFileSync, log]\n",
    )
    file('devices-sim/src/index.ts', "import { storage } from '../../packages/storage/src/index.ts'\nexport const sim = storage\n")
    file('ingest/src/index.ts', "import { gone } from './gone.ts'\nexport const ingest = gone\n")

    it('reports each crossed line by its rule', async () => {
      const found = violations(await cruiseAt(dir, ['packages', 'api', 'broker', 'web', 'devices-sim', 'ingest']))
      for (const expected of [
        'schema-imports-nothing-of-ours: packages/schema/src/index.ts → packages/runtime/src/index.ts',
        'packages-never-import-services: packages/runtime/src/index.ts → api/src/index.ts',
        'no-service-to-service: api/src/index.ts → broker/src/index.ts',
        'no-relative-import-across-workspaces: api/src/index.ts → broker/src/index.ts',
        // a test may stand up another service, but through its package name, not a path into its files
        'no-relative-import-across-workspaces: broker/test/uses-api.test.ts → api/src/index.ts',
        'broker-never-reads-storage: broker/src/index.ts → packages/storage/src/index.ts',
        'web-no-node-builtins: web/src/main.ts → fs',
        'web-imports-only-schema-and-browser-libraries: web/src/main.ts → packages/runtime/src/index.ts',
        'simulator-speaks-only-mqtt: devices-sim/src/index.ts → packages/storage/src/index.ts',
        'no-unresolvable: ingest/src/index.ts → ./gone.ts',
      ]) {
        expect(found, found.join('\n')).toContain(expected)
      }
      // a cycle through a type-only import counts: it still makes the two modules one
      expect(
        found.some((v) => v.startsWith('no-cycles: broker/src/a.ts') || v.startsWith('no-cycles: broker/src/b.ts')),
        found.join('\n'),
      ).toBe(true)
    })
  })
})
