import { chmodSync, lstatSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from './logger.ts'

/** Permission bits of the group and of others: none is set on anything under DATA_DIR. */
const GROUP_AND_OTHERS = 0o077

export interface SecuredDataDir {
  /** Files and folders (DATA_DIR itself included) whose group/other bits were taken off. */
  tightened: number
  /** Those that could not be read or changed (owned by another user, say). */
  failed: number
}

/**
 * DATA_DIR holds the credential hashes, operators, sessions and audit log (meta.sqlite), incidents, spools, readings,
 * the broker's sessions (LevelDB) and generated secrets: nothing in it is for another user of the host. Takes the
 * group and other bits off DATA_DIR and off every file and folder under it that has any (an older version, or a
 * umask of 022, left them 0644 and 0755: they become 0600 and 0700; the owner's bits are kept), and logs how many
 * once. Symbolic links under it are neither changed nor followed: what they point at is not DATA_DIR's (DATA_DIR
 * itself may be one: the folder it names is secured). A DATA_DIR that does not exist yet is left to the service,
 * which creates it 0700. An entry that cannot be changed is counted and logged, not fatal: the service still starts.
 */
export function secureDataDir(dir: string, logger: Logger): SecuredDataDir {
  const result: SecuredDataDir = { tightened: 0, failed: 0 }
  let firstError: string | undefined
  const visit = (path: string, top = false): void => {
    try {
      const st = top ? statSync(path) : lstatSync(path)
      if (st.isSymbolicLink()) return
      if ((st.mode & GROUP_AND_OTHERS) !== 0) {
        chmodSync(path, st.mode & 0o7777 & ~GROUP_AND_OTHERS)
        result.tightened++
      }
      if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name))
    } catch (err) {
      // Gone meanwhile (a SQLite journal removed at checkpoint): nothing left to protect.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      result.failed++
      firstError ??= (err as Error).message
    }
  }
  visit(dir, true)
  if (result.tightened > 0)
    logger.warn('DATA_DIR tightened', { dir, tightened: result.tightened, note: 'group/other permissions removed: files 0600, folders 0700' })
  if (result.failed > 0) logger.warn('DATA_DIR: some entries could not be made private', { dir, failed: result.failed, err: firstError })
  return result
}
