import { spawnSync } from 'node:child_process'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { openIncidentStore } from '@mytho/alerts'
import { openCredentialStore } from '@mytho/directory'
import { openSpool } from '@mytho/ingest'
import { readDemoSecrets, silentLogger } from '@mytho/runtime'
import { loadRegistryFile } from '@mytho/schema'
import { createSqliteStore } from '@mytho/storage'
import { connectDevice, makeTempDir, publishReading, waitFor } from '@mytho/testing'
import { BACKUP_DATA_FOLDER, backupDataDir } from '../src/backup.ts'
import { createEmbeddedPipeline, loadEmbeddedConfig } from '../src/embedded.ts'
import { restoreBackup, verifyBackup } from '../src/restore.ts'

/*
 * The restore drill, as an operator would run it: the platform (broker + ingest + alert engine, SQLite in DATA_DIR)
 * takes readings from real MQTT devices, raises an incident, and is backed up while the devices keep publishing; the
 * backup is restored into an empty DATA_DIR and opened with the platform's own stores. Every reading the broker
 * acknowledged (QoS 1 PUBACK: stored or spooled) before the backup started is there, and every incident.
 */

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function tempDir(prefix: string): string {
  const tmp = makeTempDir(prefix)
  cleanups.push(tmp.cleanup)
  return tmp.path
}

/** Readings per message: a gauge catching up after a network gap sends a batch, as the contract allows. */
const PER_MESSAGE = 10

describe('backup under load, restore into an empty DATA_DIR', () => {
  it('keeps every reading acknowledged before the backup started and every incident', async () => {
    const dataDir = tempDir('mytho-drill-data-')
    const registry = loadRegistryFile()
    const config = loadEmbeddedConfig({
      DATA_DIR: dataDir,
      MQTT_PORT: '0',
      MQTT_HOST: '127.0.0.1',
      MQTT_WS_PORT: 'off',
      MQTT_MAX_PUBLISH_PER_S: '0',
      INGEST_BATCH_WAIT_MS: '10',
      ALERT_TICK_MS: '100',
    })
    const store = createSqliteStore({ path: join(dataDir, 'readings.sqlite') })
    const pipeline = await createEmbeddedPipeline(config, { store, registry, logger: silentLogger })
    const { mqttPort } = await pipeline.start()
    const url = `mqtt://127.0.0.1:${mqttPort}`
    const secrets = readDemoSecrets(dataDir)!.devices
    const clients: MqttClient[] = []
    let pumping = true
    const pumps: Promise<void>[] = []
    cleanups.push(async () => {
      pumping = false
      await Promise.allSettled(pumps)
      for (const c of clients) await c.endAsync()
      await pipeline.stop()
      await store.close()
    })

    // Acknowledged readings, in the order their PUBACKs came: device id and ts.
    const acked: { deviceId: string; ts: number }[] = []
    const gauges = registry.devices.filter((d) => d.kind === 'water_level').slice(0, 4)
    // Two days back, a second apart: far more than the drill publishes, and never ahead of the clock.
    const start = Date.now() - 2 * 86_400_000
    for (const gauge of gauges) {
      const client = await connectDevice(url, gauge.id, secrets[gauge.id]!)
      clients.push(client)
      pumps.push(
        (async () => {
          for (let n = 0; pumping; n++) {
            const batch = Array.from({ length: PER_MESSAGE }, (_, i) => ({
              kind: 'water_level',
              ts: start + (n * PER_MESSAGE + i) * 1000,
              waterLevelCm: 40 + ((n + i) % 50),
            }))
            await publishReading(client, gauge.id, batch)
            for (const r of batch) acked.push({ deviceId: gauge.id, ts: r.ts })
          }
        })(),
      )
    }

    // PM2.5 far above the 24-hour limit over seven hours (the rule judges a mean of at least a quarter of a day): the
    // pm25 rule raises at once (no hold).
    const air = registry.devices.find((d) => d.kind === 'air_quality')!
    const airClient = await connectDevice(url, air.id, secrets[air.id]!)
    clients.push(airClient)
    const now = Date.now()
    await publishReading(airClient, air.id, [
      { kind: 'air_quality', ts: now - 7 * 3_600_000, pm25UgM3: 480, pm10UgM3: 600 },
      { kind: 'air_quality', ts: now, pm25UgM3: 480, pm10UgM3: 600 },
    ])
    const incidents = pipeline.ingest.incidents!
    await waitFor(() => incidents.list({ ruleId: 'pm25' }).length > 0, { timeoutMs: 20_000, what: 'the pm25 incident' })
    await waitFor(() => acked.length >= 400, { timeoutMs: 30_000, what: '400 acknowledged readings' })

    // The backup, with the gauges still publishing.
    const beforeBackup = acked.slice()
    const incidentsBefore = incidents.list({ limit: 1000 })
    const outRoot = tempDir('mytho-drill-backups-')
    const { dir, manifest } = await backupDataDir(dataDir, outRoot)
    // The platform kept acknowledging through and after the backup.
    const atBackupEnd = acked.length
    await waitFor(() => acked.length >= atBackupEnd + 40, { timeoutMs: 20_000, what: 'readings acknowledged after the backup' })
    pumping = false
    await Promise.all(pumps)

    expect(manifest.files.filter((f) => f.type === 'sqlite').map((f) => [f.path, f.userVersion])).toEqual([
      ['alerts.sqlite', 1],
      ['meta.sqlite', 2],
      ['readings.sqlite', 1],
      ['spool.sqlite', 1],
    ])
    expect(manifest.files.map((f) => f.path)).toContain('secrets/demo-secrets.json')
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    for (const f of manifest.files) expect(statSync(join(dir, BACKUP_DATA_FOLDER, f.path)).mode & 0o777, f.path).toBe(0o600)

    // Restore into an empty DATA_DIR and open it with the platform's stores.
    const restoredDir = join(tempDir('mytho-drill-restored-'), 'data')
    await restoreBackup(dir, restoredDir)
    expect(statSync(restoredDir).mode & 0o777).toBe(0o700)
    expect(statSync(join(restoredDir, 'secrets')).mode & 0o777).toBe(0o700)
    expect(statSync(join(restoredDir, 'secrets', 'demo-secrets.json')).mode & 0o777).toBe(0o600)
    expect(readFileSync(join(restoredDir, 'secrets', 'demo-secrets.json'), 'utf8')).toBe(readFileSync(join(dataDir, 'secrets', 'demo-secrets.json'), 'utf8'))

    const restored = createSqliteStore({ path: join(restoredDir, 'readings.sqlite') })
    const spool = openSpool({ path: join(restoredDir, 'spool.sqlite'), maxItems: 1_000_000 })
    const restoredIncidents = openIncidentStore(join(restoredDir, 'alerts.sqlite'))
    const credentials = openCredentialStore(restoredDir)
    cleanups.push(async () => {
      await restored.close()
      spool.close()
      restoredIncidents.close()
      await credentials.close()
    })
    // Stored, or spooled (acknowledged while storage was slow): both are in the backup, and a start drains the spool.
    const present = new Set<string>()
    for (const g of gauges) {
      const [series] = await restored.history({ deviceIds: [g.id], metric: 'waterLevelCm', from: 0, to: Date.now() + 1, window: 'raw' })
      for (const p of series!.points) present.add(`${g.id}@${p.ts}`)
    }
    for (let b = spool.peek(); b; spool.remove(b.id), b = spool.peek()) for (const r of b.readings) present.add(`${r.deviceId}@${r.ts}`)
    const missing = beforeBackup.filter((a) => !present.has(`${a.deviceId}@${a.ts}`))
    expect(beforeBackup.length).toBeGreaterThanOrEqual(400)
    expect(missing).toEqual([])

    expect(incidentsBefore.some((i) => i.ruleId === 'pm25' && i.subject === air.id)).toBe(true)
    for (const inc of incidentsBefore) expect(restoredIncidents.get(inc.id), inc.id).toMatchObject({ ruleId: inc.ruleId, raisedAt: inc.raisedAt })
    expect(await credentials.verify(gauges[0]!.id, secrets[gauges[0]!.id]!)).toBe('ok')
  })
})

describe('npm run backup / npm run restore', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'backup-cli.ts'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, INIT_CWD: '' },
    })

  it('backs a DATA_DIR up and restores it, and says why when it refuses (exit 1)', async () => {
    const dataDir = tempDir('mytho-cli-data-')
    const store = createSqliteStore({ path: join(dataDir, 'readings.sqlite') })
    await store.init()
    await store.close()
    const out = tempDir('mytho-cli-out-')
    const backup = cli('backup', '--data-dir', dataDir, '--out', out)
    expect(backup.stderr).toBe('')
    expect(backup.status).toBe(0)
    const dir = /written to (\S+)/.exec(backup.stdout)![1]!
    expect(backup.stdout).toMatch(/readings\.sqlite .* schema v1 /)

    const refused = cli('restore', dir, '--data-dir', dataDir)
    expect(refused.status).toBe(1)
    expect(refused.stderr).toContain(`DATA_DIR ${dataDir} is not empty`)
    const target = join(tempDir('mytho-cli-target-'), 'data')
    const restored = cli('restore', dir, '--data-dir', target)
    expect(restored.status, restored.stderr).toBe(0)
    expect(readFileSync(join(target, 'readings.sqlite'))).toEqual(readFileSync(join(dir, BACKUP_DATA_FOLDER, 'readings.sqlite')))
  })
})

describe('restore refuses what it should not do', () => {
  async function smallBackup() {
    const dataDir = tempDir('mytho-restore-src-')
    const store = createSqliteStore({ path: join(dataDir, 'readings.sqlite') })
    await store.init()
    await store.close()
    return backupDataDir(dataDir, tempDir('mytho-restore-out-'))
  }

  it('a DATA_DIR that has files, unless forced', async () => {
    const { dir } = await smallBackup()
    const target = tempDir('mytho-restore-target-')
    writeFileSync(join(target, 'readings.sqlite-wal'), 'stale')
    await expect(restoreBackup(dir, target)).rejects.toThrow(`DATA_DIR ${target} is not empty`)
    await restoreBackup(dir, target, { force: true })
    // The stale WAL would have been replayed into the restored database.
    expect(() => statSync(join(target, 'readings.sqlite-wal'))).toThrow()
  })

  it('a backup whose file no longer matches its manifest, before writing anything', async () => {
    const { dir } = await smallBackup()
    const file = join(dir, BACKUP_DATA_FOLDER, 'readings.sqlite')
    const bytes = readFileSync(file)
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1)
    writeFileSync(file, bytes)
    await expect(verifyBackup(dir)).rejects.toThrow('readings.sqlite: sha256 differs from the manifest')
    const target = join(tempDir('mytho-restore-target-'), 'data')
    await expect(restoreBackup(dir, target)).rejects.toThrow('does not match its manifest, nothing restored')
    expect(() => statSync(target)).toThrow()
  })
})
