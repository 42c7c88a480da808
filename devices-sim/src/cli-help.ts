import { parseArgs } from 'node:util'

/*
 * Command line of `npm start -w devices-sim`. Today only --help; a later issue adds scenarios
 * (`--scenario flood`) and a load mode, which slot into OPTIONS and CliArgs.
 */

/** Every environment variable the simulator reads, with unit and default (also the README table). */
export const ENV_OPTIONS = [
  ['MQTT_URL', 'mqtt://127.0.0.1:1883', 'Broker URL (mqtt://, mqtts://, ws://, wss://).'],
  ['SIM_DEVICES', 'all', 'Devices to run: `all` or a comma list of registry ids.'],
  ['SIM_SPEED', '1', 'Simulated seconds per real second (60 = an hour a minute). Intervals shrink by it; values follow the simulated clock; `ts` stays real time (ingest rejects ts > 5 min ahead).'],
  ['SIM_SEED', '1', 'Seed of all generated values: same seed and simulated time, same readings.'],
  ['SIM_START', 'now', 'Simulated clock start: ISO date (00:00 Mỹ Tho time) or date-time with offset, e.g. 2025-10-07 for spring tides.'],
  ['SIM_CONNECT_CONCURRENCY', '20', 'Device connections opened at a time (the broker hashes each password).'],
  ['DEVICE_REGISTRY_FILE', 'seed fleet', 'Registry JSON to simulate (packages/schema/data/seed-fleet.json).'],
  ['DATA_DIR', './data', 'Where the broker writes demo device secrets (secrets/demo-secrets.json).'],
  ['LOG_LEVEL', 'info', 'debug, info, warn, error or silent (JSON lines on stderr).'],
] as const

export function helpText(): string {
  const width = Math.max(...ENV_OPTIONS.map(([name]) => name.length))
  const rows = ENV_OPTIONS.map(([name, def, what]) => `  ${name.padEnd(width)}  ${what} Default: ${def}.`)
  return [
    'devices-sim — Mỹ Tho\'s simulated device fleet (traffic, water level, rain, salinity, PM2.5) on MQTT',
    '',
    'Usage: npm start -w devices-sim [-- --help]',
    '',
    'Each device connects with its own id and demo secret, announces a retained `online`',
    '(Last Will `offline`), then publishes a reading at once and every interval (±10 %).',
    '',
    'Options:',
    '  -h, --help  Print this help and exit.',
    '',
    'Environment:',
    ...rows,
    '',
  ].join('\n')
}

export interface CliArgs {
  help: boolean
}

export class CliError extends Error {
  override name = 'CliError'
}

/** Parses argv (without node and script); unknown flags are a CliError naming them. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  try {
    const { values } = parseArgs({ args: [...argv], options: { help: { type: 'boolean', short: 'h', default: false } }, strict: true, allowPositionals: false })
    return { help: values.help === true }
  } catch (err) {
    throw new CliError(`${(err as Error).message} (see --help)`, { cause: err })
  }
}
