import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

const composeFile = new URL('../../docker-compose.yml', import.meta.url)

/**
 * The node flags docker-compose.yml starts `service` with (those between `node` and its entry), so the bench runs
 * each process as deployed and the two cannot drift apart. `--enable-source-maps` is left out: the bench runs the
 * TypeScript under tsx, which maps its own sources.
 */
export function composeNodeFlags(service: string): string[] {
  // merge: compose uses YAML merge keys (<<: *platform)
  const compose = parse(readFileSync(composeFile, 'utf8'), { merge: true }) as { services: Record<string, { command?: string[] }> }
  const command = compose.services[service]?.command
  if (command?.[0] !== 'node') throw new Error(`docker-compose.yml: service ${service} has no node command`)
  return command.slice(1, -1).filter((f) => f !== '--enable-source-maps')
}

/** `variable` when set (space-separated; '' runs V8's defaults), else what compose gives `service`. */
export const nodeFlagsFor = (service: string, variable: string): string[] =>
  process.env[variable] !== undefined ? process.env[variable]!.split(' ').filter(Boolean) : composeNodeFlags(service)
