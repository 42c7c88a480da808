import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { makeTempDir } from '@mytho/testing'
import { openAgencyKeyStore, type AgencyKeyStore } from './agency-keys.ts'
import { runAgencyKeyContract } from './agency-keys.test-suite.ts'

runAgencyKeyContract('SQLite meta.sqlite', async () => {
  const dir = makeTempDir('mytho-agency-keys-')
  const stores: AgencyKeyStore[] = []
  onTestFinished(async () => {
    for (const s of stores) await s.close()
    dir.cleanup()
  })
  return {
    open() {
      const s = openAgencyKeyStore(dir.path)
      stores.push(s)
      return s
    },
    dump: async () =>
      readdirSync(dir.path)
        .map((f) => readFileSync(join(dir.path, f)).toString('latin1'))
        .join('\n'),
  }
})
