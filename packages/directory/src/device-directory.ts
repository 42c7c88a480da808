import { DeviceRecord, DeviceRegistry } from '@mytho/schema'
import { openMetaSqlite } from './meta-sqlite.ts'

/** A device as provisioned: its registry record, and whether its credential is disabled or missing. */
export type ProvisionedDevice = DeviceRecord & { disabled: boolean; hasSecret: boolean }

export interface DeviceDirectory {
  /**
   * Adds the registry file's devices that are not in the store yet (all of them at the first start); returns
   * how many. Each record is added only if absent, so nodes seeding at once add each device once.
   */
  seedIfEmpty(records: readonly DeviceRecord[]): Promise<number>
  /** Ordered by id. */
  list(): Promise<ProvisionedDevice[]>
  get(id: string): Promise<ProvisionedDevice | undefined>
  /** false when the id is taken. */
  insert(record: DeviceRecord): Promise<boolean>
  /** Replaces a provisioned device's record (a move); false when there is no such device. */
  update(record: DeviceRecord): Promise<boolean>
  /** Safe to call twice. */
  close(): Promise<void>
}

/** The SQLite directory's calls as they are: loadProvisionedRegistry's lookup has to answer synchronously. */
type SyncDirectory = { [K in Exclude<keyof DeviceDirectory, 'close'>]: (...a: Parameters<DeviceDirectory[K]>) => Awaited<ReturnType<DeviceDirectory[K]>> } & {
  close(): void
}

interface Row {
  record: string
  disabled: number | null
}

/**
 * The provisioned devices, in the metadata store (`${dataDir}/meta.sqlite`, the credential store's file,
 * so a device's record and its credential row are read together). The API writes it; the broker
 * authenticates against the credential rows. Records are stored as validated JSON: the registry's
 * schema is the one definition of a device. On a cluster: device-directory-redis.ts (openDeviceDirectoryFromConfig chooses).
 */
export function openDeviceDirectory(dataDir: string): DeviceDirectory {
  const d = openSqliteDirectory(dataDir)
  return {
    seedIfEmpty: async (records) => d.seedIfEmpty(records),
    list: async () => d.list(),
    get: async (id) => d.get(id),
    insert: async (record) => d.insert(record),
    update: async (record) => d.update(record),
    close: async () => d.close(),
  }
}

function openSqliteDirectory(dataDir: string): SyncDirectory {
  const db = openMetaSqlite(dataDir)
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM devices')
  const insert = db.prepare<[string, string, number]>('INSERT OR IGNORE INTO devices (id, record, created_at) VALUES (?, ?, ?)')
  const replace = db.prepare<[string, string]>('UPDATE devices SET record = ? WHERE id = ?')
  const all = db.prepare<[], Row>('SELECT d.record, c.disabled FROM devices d LEFT JOIN credentials c ON c.username = d.id ORDER BY d.id')
  const one = db.prepare<[string], Row>('SELECT d.record, c.disabled FROM devices d LEFT JOIN credentials c ON c.username = d.id WHERE d.id = ?')
  const toDevice = (r: Row): ProvisionedDevice => ({ ...(JSON.parse(r.record) as DeviceRecord), disabled: r.disabled === 1, hasSecret: r.disabled !== null })
  let closed = false

  return {
    seedIfEmpty(records) {
      // A record already in the store wins: an admin's later change is not undone by the file.
      const now = Date.now()
      const before = count.get()!.n
      db.transaction(() => {
        for (const r of records) insert.run(r.id, JSON.stringify(r), now)
      })()
      return count.get()!.n - before
    },
    list: () => all.all().map(toDevice),
    get(id) {
      const r = one.get(id)
      return r && toDevice(r)
    },
    insert(record) {
      return insert.run(record.id, JSON.stringify(DeviceRecord.parse(record)), Date.now()).changes > 0
    },
    update(record) {
      return replace.run(JSON.stringify(DeviceRecord.parse(record)), record.id).changes > 0
    },
    close() {
      if (closed) return
      closed = true
      db.close()
    },
  }
}

export const recordOf = ({ disabled: _d, hasSecret: _h, ...r }: ProvisionedDevice): DeviceRecord => r

/**
 * The registry the services start with: the provisioned devices in the metadata store, plus any device
 * of the registry file (`fromFile`) not in it yet (all of them on the very first start). Devices provisioned later are in it from
 * the moment a service first meets them (a lookup in the store), and in the lists once registry-follow.ts re-reads.
 */
export function loadProvisionedRegistry(dataDir: string, fromFile: DeviceRegistry): DeviceRegistry {
  const directory = openSqliteDirectory(dataDir)
  try {
    directory.seedIfEmpty(fromFile.devices)
  } catch (err) {
    directory.close()
    throw err
  }
  // The directory stays open for lookups of devices provisioned after start (a read per new id, then cached).
  // A disabled device is not in it: every ingest refuses its readings (registry-follow.ts keeps this current).
  return new DeviceRegistry(
    directory
      .list()
      .filter((d) => !d.disabled)
      .map(recordOf),
    (id) => {
      const d = directory.get(id)
      return d && !d.disabled ? recordOf(d) : undefined
    },
  )
}
