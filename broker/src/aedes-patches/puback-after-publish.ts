/*
 * Aedes patch. Patches `Aedes.authorizePublish` and `Aedes.publish` so a QoS 1 PUBACK goes out after the publish, relying on
 * the order in aedes/lib/handlers/publish.js (enqueuePublish). Why: below.
 * Written against the versions in aedes-version.test.ts; re-check it when they change.
 */
import type { Aedes, Client, PublishPacket } from 'aedes'

/*
 * Aedes 1.2 answers a QoS 1 PUBLISH with its PUBACK first and publishes after (enqueuePublish in
 * aedes/lib/handlers/publish.js: `write(client, new PubAck(packet), () => broker.publish(packet, …))`), so a
 * device may hold a PUBACK for a message not yet in any persistent subscriber's queue. On one node with an
 * in-memory or LevelDB store that window is a tick or a disk write; on Redis it is a network round trip behind
 * every command queued on the connection (hundreds of ms under load), and a node killed inside it loses
 * readings their devices were told were delivered [MQTT-4.3.2-2 asks the sender to keep a message until its
 * PUBACK].
 *
 * Here the publish runs first: once the authorizePublish hook accepts a device's QoS 1 packet, that packet is
 * published (retained store, the subscribers' queues, the other nodes) and only then handed back to Aedes,
 * which writes the PUBACK and calls publish again for the same object: that second call returns at once.
 * A publish that fails (Redis unreachable) fails the authorization, and Aedes closes the connection without a
 * PUBACK, so the device sends the message again on its next connection.
 */
export function pubackAfterPublish(aedes: Aedes): void {
  const published = new WeakSet<object>()
  const publish = aedes.publish.bind(aedes) as unknown as (packet: PublishPacket, client: Client | null, done: (err?: Error | null) => void) => void
  const authorize = aedes.authorizePublish.bind(aedes)

  aedes.authorizePublish = (client, packet, callback) =>
    authorize(client, packet, (err) => {
      if (err || !client || packet.qos !== 1) return callback(err ?? null)
      publish(packet, client, (publishErr) => {
        if (publishErr) return callback(publishErr)
        published.add(packet)
        callback(null)
      })
    })

  aedes.publish = ((packet: PublishPacket, client: unknown, done?: unknown) => {
    const cb = (typeof client === 'function' ? client : done) as ((err?: Error | null) => void) | undefined
    if (published.delete(packet)) return cb?.(null)
    return (publish as (...a: unknown[]) => void)(packet, client, done)
  }) as Aedes['publish']
}
