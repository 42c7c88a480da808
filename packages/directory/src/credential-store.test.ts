import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { makeTempDir } from '@mytho/testing'
import { openCredentialStore, type CredentialStore } from './credential-store.ts'
import { runCredentialStoreContract } from './credential-store.test-suite.ts'

runCredentialStoreContract('SQLite meta.sqlite', async () => {
  const dir = makeTempDir('mytho-cred-')
  const stores: CredentialStore[] = []
  onTestFinished(async () => {
    for (const s of stores) await s.close()
    dir.cleanup()
  })
  return {
    open(options) {
      const s = openCredentialStore(dir.path, options)
      stores.push(s)
      return s
    },
    // The WAL holds what the main file has not taken in yet; both are read.
    dump: async () =>
      readdirSync(dir.path)
        .map((f) => readFileSync(join(dir.path, f)).toString('latin1'))
        .join('\n'),
  }
})
