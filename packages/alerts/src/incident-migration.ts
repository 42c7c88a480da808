import { existsSync } from 'node:fs'
import Database from 'better-sqlite3'
import type { Redis } from 'ioredis'
import type { Incident } from '@mytho/schema'
import { IncidentStoreError, openIncidentStore } from './incident-store.ts'
import { DEFAULT_ALERTS_PREFIX, holdKey, incidentFields } from './redis-incidents.ts'

/*
 * One-shot copy of a host's DATA_DIR/alerts.sqlite (incidents with their events and acknowledgements, the rule
 * engine's hold records) into the cluster's Redis, for a platform that ran on one host and now starts its ingest
 * workers and API nodes with REDIS_URL. Run it with the ingest stopped. Whatever Redis already has wins: an
 * incident id it knows and a hold it has are left as they are, so a second run copies nothing.
 */

export interface IncidentMigrationCounts {
  incidents: number
  events: number
  holds: number
}

// One incident as a whole (hash, events, indexes), only when Redis does not have it. ARGV: prefix, id, state,
// severity, rule id, raisedAt, device ids JSON, events JSON, then the hash's field/value pairs.
const IMPORT_LUA = `
local p, id, state, sev, rule, raised = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local k = p .. ':inc:' .. id
if redis.call('EXISTS', k) == 1 then return 0 end
redis.call('HSET', k, unpack(ARGV, 9))
local idx = {'all', 'state:' .. state, 'sev:' .. sev, 'rule:' .. rule}
if state ~= 'closed' then idx[#idx + 1] = 'active' end
for _, z in ipairs(idx) do redis.call('ZADD', p .. ':idx:' .. z, raised, id) end
for _, d in ipairs(cjson.decode(ARGV[7])) do redis.call('ZADD', p .. ':idx:dev:' .. d, raised, id) end
for _, e in ipairs(cjson.decode(ARGV[8])) do
  redis.call('RPUSH', k .. ':ev', e[1])
  local f = 'last:' .. e[2]
  local cur = redis.call('HGET', k, f)
  if (not cur) or tonumber(e[3]) > tonumber(cur) then redis.call('HSET', k, f, e[3]) end
end
return 1`

function allFields(inc: Incident): string[] {
  const f = incidentFields(inc)
  for (const k of ['acknowledgedAt', 'acknowledgedBy', 'ackNote', 'clearedAt', 'closedAt'] as const) {
    const v = inc[k]
    if (v !== null) f.push(k, String(v))
  }
  return f
}

export async function migrateIncidentsToRedis(sqlitePath: string, redis: Redis, opts: { prefix?: string } = {}): Promise<IncidentMigrationCounts> {
  if (!existsSync(sqlitePath)) throw new IncidentStoreError(`no incident store at ${sqlitePath}`)
  const prefix = opts.prefix ?? DEFAULT_ALERTS_PREFIX
  const counts: IncidentMigrationCounts = { incidents: 0, events: 0, holds: 0 }
  const store = openIncidentStore(sqlitePath)
  const db = new Database(sqlitePath, { readonly: true })
  try {
    const ids = db.prepare<[], { id: string }>('SELECT id FROM incidents ORDER BY raised_at').all()
    for (const { id } of ids) {
      const inc = store.get(id)!
      const events = inc.events.map((e) => [JSON.stringify(e), e.type, String(e.at)])
      const args = [
        prefix,
        inc.id,
        inc.state,
        inc.severity,
        inc.ruleId,
        String(inc.raisedAt),
        JSON.stringify(inc.deviceIds),
        JSON.stringify(events),
        ...allFields(inc),
      ]
      if ((await redis.eval(IMPORT_LUA, 0, ...args)) === 1) {
        counts.incidents++
        counts.events += events.length
      }
    }
    const holds = db.prepare<[], { rule_id: string; subject: string; record: string }>('SELECT rule_id, subject, record FROM rule_holds').all()
    for (const h of holds) if ((await redis.hsetnx(holdKey(prefix, h.subject), h.rule_id, h.record)) === 1) counts.holds++
  } finally {
    db.close()
    store.close()
  }
  return counts
}
