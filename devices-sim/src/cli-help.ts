import { parseArgs } from 'node:util'
import { faultKinds } from './faults/kinds.ts'
import { scenarioNames } from './scenarios/types.ts'

/** Every environment variable the simulator reads, with unit and default (also the table of docs/configuration.md). */
export const ENV_OPTIONS = [
  ['MQTT_URL', 'mqtt://127.0.0.1:1883', 'Broker URL (mqtt://, mqtts://, ws://, wss://).'],
  ['SIM_SCENARIO', 'city', `Scenario: ${scenarioNames.join(', ')} (see "Scenarios" below).`],
  ['SIM_DEVICES', 'all', "Devices to run: `all` (or the scenario's) or a comma list of registry ids."],
  [
    'SIM_SPEED',
    '1',
    'Simulated seconds per real second (60 = an hour a minute); a scenario has its own unless set. `ts` stays real time (ingest rejects ts > 5 min ahead).',
  ],
  ['SIM_SEED', '1', 'Seed of all generated values and faults: same seed and simulated time, same readings.'],
  ['SIM_START', 'now', 'Simulated clock start: ISO date (00:00 Mỹ Tho time) or date-time with offset, e.g. 2025-10-07; scenarios set their own.'],
  ['SIM_FAULTS', 'none', `Per-message fault rates, e.g. not_json=0.01,duplicate=0.02; kinds: ${faultKinds.join(', ')}.`],
  ['SIM_BACKFILL_HOURS', '24', 'Hours of past readings (device ts, arrays of ≤ 500) published before going live; idempotent; 0 = none.'],
  ['SIM_CONNECT_CONCURRENCY', '20', 'Device connections opened at a time (the broker hashes each password).'],
  ['DEVICE_REGISTRY_FILE', 'seed fleet', 'Registry JSON to simulate (packages/schema/data/seed-fleet.json).'],
  ['DATA_DIR', './data', 'Where the broker writes demo device secrets (secrets/demo-secrets.json).'],
  ['LOG_LEVEL', 'info', 'debug, info, warn, error or silent (JSON lines on stderr).'],
] as const

export function helpText(): string {
  const width = Math.max(...ENV_OPTIONS.map(([name]) => name.length))
  const rows = ENV_OPTIONS.map(([name, def, what]) => `  ${name.padEnd(width)}  ${what} Default: ${def}.`)
  return [
    "devices-sim — Mỹ Tho's simulated device fleet (traffic, water level, rain, salinity, PM2.5) on MQTT",
    '',
    'Usage: npm start -w devices-sim [-- options]',
    '',
    'Each device connects with its own id and demo secret, announces a retained `online`',
    '(Last Will `offline`), then publishes a reading at once and every interval (±10 %).',
    '',
    'Options (override the environment):',
    '  -h, --help                 Print this help and exit.',
    `  -s, --scenario <name>      ${scenarioNames.join(' | ')} (SIM_SCENARIO).`,
    '      --speed <x>            Simulated seconds per real second (SIM_SPEED).',
    '      --seed <n>             Seed (SIM_SEED).',
    '      --start <date>         Simulated clock start (SIM_START).',
    '      --faults <mix>         Fault rates, kind=rate,… (SIM_FAULTS).',
    '      --backfill-hours <h>   History before going live (SIM_BACKFILL_HOURS).',
    '      --expectations         Print the scenario and what the platform should show (JSON) and exit.',
    '  Load (--scenario load):',
    '      --devices <n>          Synthetic devices load-00001 … (default 1000).',
    '      --rate <n>             Total readings per second (default 1000).',
    '      --duration <s>         Seconds of load after connecting (default 60).',
    '      --anonymous            Connect without credentials (broker with MQTT_ALLOW_ANONYMOUS=true).',
    '      --write-fleet <dir>    Write <dir>/registry.json and <dir>/secrets/demo-secrets.json for --devices',
    '                             synthetic devices and exit; start the broker with',
    '                             DEVICE_REGISTRY_FILE=<dir>/registry.json DATA_DIR=<dir>.',
    '',
    'Scenarios:',
    '  city           the whole fleet on the city models (tide, rain, traffic, salinity, PM2.5), from now.',
    '  king-tide      7 Oct 2025 14:40, paced: river stations rise through BĐ I, II, III; incidents in ~8.5 min.',
    '  rush-hour      Tue 13 Jan 2026 05:00–20:00 at 120×: QL1, QL60, Rạch Miễu below 25 km/h at the rushes.',
    '  sensor-faults  every fault kind at a few per cent, outages with and without a Will, a reconnect storm.',
    '  load           N synthetic devices at a target total rate; progress on stderr, summary JSON on stdout.',
    '',
    'Environment:',
    ...rows,
    '',
  ].join('\n')
}

export interface CliArgs {
  help: boolean
  expectations: boolean
  anonymous: boolean
  /** Environment overrides from flags (SIM_SCENARIO, SIM_SPEED, …). */
  env: Record<string, string>
  load: { devices: number; rate: number; durationS: number }
  writeFleet: string | undefined
}

export class CliError extends Error {
  override name = 'CliError'
}

const positive = (name: string, v: string | undefined, def: number, integer: boolean): number => {
  if (v === undefined) return def
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new CliError(`--${name} expects a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`)
  return n
}

/** The flags as node:util parseArgs reads them; throws on an unknown flag or a bad value. */
const readFlags = (argv: readonly string[]) =>
  parseArgs({
    args: [...argv],
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      scenario: { type: 'string', short: 's' },
      speed: { type: 'string' },
      seed: { type: 'string' },
      start: { type: 'string' },
      faults: { type: 'string' },
      'backfill-hours': { type: 'string' },
      expectations: { type: 'boolean', default: false },
      devices: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      anonymous: { type: 'boolean', default: false },
      'write-fleet': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  }).values

/** Parses argv (without node and script); unknown flags and bad values are a CliError naming them. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let values: ReturnType<typeof readFlags>
  try {
    values = readFlags(argv)
  } catch (err) {
    throw new CliError(`${(err as Error).message} (see --help)`, { cause: err })
  }
  const env: Record<string, string> = {}
  const map = {
    scenario: 'SIM_SCENARIO',
    speed: 'SIM_SPEED',
    seed: 'SIM_SEED',
    start: 'SIM_START',
    faults: 'SIM_FAULTS',
    'backfill-hours': 'SIM_BACKFILL_HOURS',
  } as const
  for (const [flag, name] of Object.entries(map)) {
    const v = values[flag as keyof typeof map]
    if (v !== undefined) env[name] = v
  }
  return {
    help: values.help === true,
    expectations: values.expectations === true,
    anonymous: values.anonymous === true,
    env,
    load: {
      devices: positive('devices', values.devices, 1000, true),
      rate: positive('rate', values.rate, 1000, false),
      durationS: positive('duration', values.duration, 60, false),
    },
    writeFleet: values['write-fleet'],
  }
}
