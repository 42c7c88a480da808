import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

const composeFile = new URL('../../docker-compose.yml', import.meta.url)

type Services = Record<string, { command?: string[] }>
let services: Services | undefined
/** Read once per process: the bench asks for several services' flags at its start. */
const composeServices = (): Services =>
  // merge: compose uses YAML merge keys (<<: *platform)
  (services ??= (parse(readFileSync(composeFile, 'utf8'), { merge: true }) as { services: Services }).services)

/**
 * The node flags docker-compose.yml starts `service` with (those between `node` and its entry), so the bench runs
 * each process as deployed and the two cannot drift apart. `--enable-source-maps` is left out: the bench runs the
 * TypeScript under tsx, which maps its own sources.
 */
export function composeNodeFlags(service: string): string[] {
  const command = composeServices()[service]?.command
  if (command?.[0] !== 'node') throw new Error(`docker-compose.yml: service ${service} has no node command`)
  return command.slice(1, -1).filter((f) => f !== '--enable-source-maps')
}

/** `variable` when set (space-separated; '' runs V8's defaults), else what compose gives `service`. */
export const nodeFlagsFor = (service: string, variable: string): string[] =>
  process.env[variable] !== undefined ? process.env[variable]!.split(' ').filter(Boolean) : composeNodeFlags(service)
