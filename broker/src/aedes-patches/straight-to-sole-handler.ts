/*
 * Aedes patch. Wraps `Aedes.publish`, the emitter's topic matcher (`aedes.mq._matcher`, mqemitter's Qlobber) and the
 * persistence's subscription writes, so that a client's QoS 1 publish whose only receiver is a handler subscribed
 * here goes to that handler straight. Why: below.
 * Written against the versions in aedes-version.test.ts; re-check it when they change.
 */
import { createRequire } from 'node:module'
import type { Aedes, Client, PublishPacket } from 'aedes'

/*
 * In the embedded pipeline (platform/src/embedded.ts) the ingest's in-process subscription is, nearly always, the only
 * receiver of a device's reading, and it keeps the reading until it is stored (acknowledged = stored). For that,
 * Aedes's publish (aedes.js `publish`) makes a second packet and a series state, runs storeRetained, enqueueOffline
 * (a match in the persistence's trie and four promises, for no offline subscriber), emitPacket (a match in the
 * emitter's trie and a fastparallel holder) and callPublished, and every one of those objects lives as long as the
 * reading is in flight: tens of thousands of them, copied by each scavenge and promoted (BENCHMARKS.md).
 *
 * Here, when a topic's only receiver is a handler subscribed through `subscribe` below and no persistent session
 * queues the topic, a client's QoS 1, non-retained publish goes to that handler at once, with the packet Aedes would
 * have given it; the publish calls back when the handler does, as mqemitter's would. Anything else (a retained
 * message, a second receiver, a persistent subscriber, 'publish' listeners, a closed emitter) takes Aedes's own path.
 * Aedes's `published` hook is not called on this path: the broker sets none (broker.ts); one that does must drop this.
 *
 * Who receives a topic is learnt on its first publish (that publish takes Aedes's path) and kept until any
 * subscription changes: the emitter's matcher and the persistence's subscription writes bump a generation, and an
 * answer learnt under an older generation is not used. A subscription that arrives while a publish is on its way is
 * the same race with either path: the message was published before the subscription.
 */

const fromAedes = createRequire(createRequire(import.meta.url).resolve('aedes'))
// The class Aedes wraps every publish in (brokerId, brokerCounter, clientId): a handler sees what Aedes's path gives it.
const AedesPacket = fromAedes('aedes-packet') as new (original: PublishPacket, broker: Aedes) => PublishPacket & { clientId?: string }

type Handler = (packet: PublishPacket, callback: () => void) => void
type Callback = (err?: Error | null) => void

interface Matcher {
  match(topic: string): unknown[]
  add(...args: unknown[]): unknown
  remove(...args: unknown[]): unknown
  clear?(...args: unknown[]): unknown
}

/** Topics remembered at most: devices publish only to their own few, so this bounds a stranger's anonymous spray. */
const MAX_TOPICS = 100_000

export interface StraightDelivery {
  /** `aedes.subscribe` for a handler in this process that calls back once it kept the message. */
  subscribe(topic: string, handler: Handler, done: (err?: Error) => void): void
  /** Clients' QoS 1 publishes that went straight to a handler, and those that took Aedes's path. */
  readonly stats: { straight: number; aedes: number }
}

export function deliverStraightToSoleHandler(aedes: Aedes): StraightDelivery {
  const broker = aedes as unknown as { mq: { _matcher: Matcher; closed: boolean }; persistence: Record<string, unknown> } & Aedes
  const matcher = broker.mq._matcher
  const handlers = new Set<Handler>()
  const stats = { straight: 0, aedes: 0 }
  let generation = 0
  /** Per topic: its sole handler (or null: Aedes's path), as learnt under `generation`. */
  const receivers = new Map<string, { generation: number; handler: Handler | null }>()
  const learning = new Set<string>()

  const bump = <A extends unknown[], R>(target: Record<string, unknown>, name: string) => {
    const original = target[name] as ((...args: A) => R) | undefined
    if (typeof original !== 'function') return
    target[name] = (...args: A): R => {
      generation++
      const out = original.apply(target, args)
      // An async write (the persistence's) changes what it answers when it settles: that is a change too.
      if (out instanceof Promise)
        out.then(
          () => generation++,
          () => generation++,
        )
      return out
    }
  }
  for (const name of ['add', 'remove', 'clear']) bump(matcher as unknown as Record<string, unknown>, name)
  for (const name of ['addSubscriptions', 'removeSubscriptions', 'cleanSubscriptions']) bump(broker.persistence, name)

  const learn = (topic: string) => {
    if (learning.has(topic)) return
    const at = generation
    let matches: unknown[]
    try {
      matches = matcher.match(topic)
    } catch {
      // Qlobber throws on a topic deeper than it takes; Aedes's path refuses such a publish itself.
      return
    }
    const sole = matches.length === 1 && handlers.has(matches[0] as Handler) ? (matches[0] as Handler) : null
    const settle = (handler: Handler | null) => {
      learning.delete(topic)
      if (generation !== at) return
      if (receivers.size >= MAX_TOPICS) receivers.clear()
      receivers.set(topic, { generation: at, handler })
    }
    if (!sole) return settle(null)
    learning.add(topic)
    const persistence = broker.persistence as { subscriptionsByTopic(t: string): Promise<unknown[]> }
    persistence.subscriptionsByTopic(topic).then(
      (subs) => settle(subs.length === 0 ? sole : null),
      () => settle(null),
    )
  }

  const publish = aedes.publish.bind(aedes) as unknown as (packet: PublishPacket, client: Client | null, done: Callback) => void
  aedes.publish = ((packet: PublishPacket, client: unknown, done?: unknown) => {
    if (typeof client === 'function' || !client || packet.qos !== 1 || packet.retain || broker.mq.closed || aedes.listenerCount('publish') > 0)
      return (publish as (...a: unknown[]) => void)(packet, client, done)
    const known = receivers.get(packet.topic)
    const handler = known?.generation === generation ? known.handler : (learn(packet.topic), null)
    if (handler === null) {
      stats.aedes++
      return publish(packet, client as Client, done as Callback)
    }
    stats.straight++
    const p = new AedesPacket(packet, aedes)
    p.clientId = (client as Client).id
    handler.call(broker.mq, p, () => (done as Callback | undefined)?.(null))
  }) as Aedes['publish']

  return {
    stats,
    subscribe(topic, handler, done) {
      handlers.add(handler)
      aedes.subscribe(topic, handler as never, done)
    },
  }
}
