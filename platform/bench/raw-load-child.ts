/*
 * The raw-socket load generator's process (raw-mqtt.ts startRawLoad): RAW_LOAD = {port, devices, n, window, runStart}.
 * Encodes the run, connects every device, prints `connected`; on a line on stdin publishes everything and prints
 * `acked <count> <t0> <t1>` (epoch ms, performance.timeOrigin + now()); exits when stdin ends.
 */
import { createInterface } from 'node:readline'
import { connectRaw, encodeRun, type RawDevice } from './raw-mqtt.ts'

const opts = JSON.parse(process.env['RAW_LOAD'] ?? '{}') as { port: number; devices: RawDevice[]; n: number; window: number; runStart: number }
const now = () => performance.timeOrigin + performance.now()
const conns = await connectRaw(opts.port, encodeRun(opts.devices, opts.n, opts.runStart))
process.stdout.write('connected\n')
const lines = createInterface({ input: process.stdin })
lines.once('line', () => {
  const t0 = now()
  conns.run(opts.window).then(
    (acked) => process.stdout.write(`acked ${acked} ${t0} ${now()}\n`),
    (err: Error) => {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    },
  )
})
lines.once('close', () => {
  conns.close()
  setTimeout(() => process.exit(0), 500).unref()
})
