/*
 * "Acknowledged = stored" when InfluxDB freezes mid-run (issue #8's unexplained stall): the embedded pipeline
 * (broker + ingest in one process) takes readings from 50 devices while influxd is stopped with SIGSTOP for longer
 * than the write timeout, so writes time out, batches go to the spool, and influxd later runs whatever it had
 * half-received. Each round then waits for every acknowledged reading to be counted, and says which devices are short.
 * Run: npx tsx platform/bench/freeze-influx.ts [rounds] [readings] [freezeSeconds]
 */
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'
import { loadRegistryFile } from '@mytho/schema'
import { readDemoSecrets } from '@mytho/runtime'
import { childPidByName, freePort, makeTempDir, startInfluxd, waitFor } from '@mytho/testing'
import { publishAll } from './publish.ts'
import { startChild, stopChild } from './reference.ts'

const rounds = Number(process.argv[2] ?? 3)
const N = Number(process.argv[3] ?? 200_000)
const freezeS = Number(process.argv[4] ?? 12)
const root = fileURLToPath(new URL('../..', import.meta.url))
const influx = await startInfluxd()
const influxPid = childPidByName('influxd')!
const count = async (db: string, groupByDevice = false): Promise<Map<string, number>> => {
  const g = groupByDevice ? ' GROUP BY "deviceId"' : ''
  const q = [
    '"batteryV" FROM "water_level"',
    '"vehicleCount" FROM "traffic"',
    '"rainMm" FROM "rain"',
    '"salinityGL" FROM "salinity"',
    '"pm25UgM3" FROM "air_quality"',
  ]
    .map((x) => `SELECT count(${x.split(' FROM ')[0]}) FROM ${x.split(' FROM ')[1]}${g}`)
    .join('; ')
  const res = (await (await fetch(`${influx.url}/query?db=${db}&q=${encodeURIComponent(q)}`)).json()) as {
    results: { series?: { tags?: { deviceId: string }; values: [string, number][] }[] }[]
  }
  const m = new Map<string, number>()
  for (const r of res.results)
    for (const s of r.series ?? []) m.set(s.tags?.deviceId ?? 'all', (m.get(s.tags?.deviceId ?? 'all') ?? 0) + (s.values[0]?.[1] ?? 0))
  return m
}
try {
  for (let round = 1; round <= rounds; round++) {
    const db = `freeze_${round}`
    const tmp = makeTempDir('mytho-freeze-')
    const mqttPort = await freePort()
    const metricsPort = await freePort()
    const env = {
      DATA_DIR: tmp.path,
      LOG_LEVEL: 'info',
      INFLUX_URL: influx.url,
      INFLUX_DB: db,
      MQTT_PORT: String(mqttPort),
      MQTT_HOST: '127.0.0.1',
      MQTT_WS_PORT: 'off',
      MQTT_MAX_PUBLISH_PER_S: '0',
      METRICS_PORT: String(metricsPort),
    }
    const svc = await startChild(process.execPath, ['--import', 'tsx', 'platform/src/embedded-main.ts'], { cwd: root, env }, /broker listening/)
    const secrets = readDemoSecrets(tmp.path)!
    const devices = loadRegistryFile().devices.slice(0, 50)
    const clients = await Promise.all(
      devices.map(async (d) => ({
        id: d.id,
        client: await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
          clientId: d.id,
          username: d.id,
          password: secrets.devices[d.id]!,
          reconnectPeriod: 0,
        }),
      })),
    )
    // Freeze influxd a second into the run, for freezeS seconds.
    const freeze = setTimeout(() => {
      process.kill(influxPid, 'SIGSTOP')
      setTimeout(() => process.kill(influxPid, 'SIGCONT'), freezeS * 1000)
    }, 1000)
    const t0 = Date.now()
    const sent = await publishAll(clients, N, 1, Date.now() - 1000)
    const tAcked = Date.now()
    let stored = 0
    const ok = await waitFor(async () => (stored = (await count(db)).get('all') ?? 0) >= sent, { timeoutMs: 180_000, intervalMs: 500, what: 'stored' }).then(
      () => true,
      () => false,
    )
    clearTimeout(freeze)
    const metrics = (
      await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
        .then((r) => r.text())
        .catch(() => '')
    )
      .split('\n')
      .filter((l) => /^mytho_ingest_(readings_(accepted|written)|storage_errors|spool_depth|unacked)/.test(l))
      .join('  ')
    process.stdout.write(
      `round ${round}: ${sent} acked in ${((tAcked - t0) / 1000).toFixed(1)} s, ${stored} stored after ${((Date.now() - tAcked) / 1000).toFixed(1)} s ${ok ? 'OK' : 'SHORT'}\n  ${metrics}\n`,
    )
    if (!ok) {
      const per = await count(db, true)
      const want = Math.ceil(sent / clients.length)
      process.stdout.write(
        `  short: ${clients
          .filter((c) => (per.get(c.id) ?? 0) < want)
          .map((c) => `${c.id}=${per.get(c.id) ?? 0}`)
          .join(' ')}\n  ${svc.output().slice(-3000)}\n`,
      )
    }
    await Promise.all(clients.map((c) => c.client.endAsync()))
    await stopChild(svc.child)
    tmp.cleanup()
  }
} finally {
  process.kill(influxPid, 'SIGCONT')
  await influx.stop()
}
