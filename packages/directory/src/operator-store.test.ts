import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { makeTempDir } from '@mytho/testing'
import { openOperatorStore, type OperatorStore } from './operator-store.ts'
import { runOperatorStoreContract } from './operator-store.test-suite.ts'

runOperatorStoreContract('SQLite meta.sqlite', async () => {
  const dir = makeTempDir('mytho-operators-')
  const stores: OperatorStore[] = []
  onTestFinished(async () => {
    for (const s of stores) await s.close()
    dir.cleanup()
  })
  return {
    open() {
      const s = openOperatorStore(dir.path)
      stores.push(s)
      return s
    },
    dump: async () =>
      readdirSync(dir.path)
        .map((f) => readFileSync(join(dir.path, f)).toString('latin1'))
        .join('\n'),
  }
})
