/*
 * The reference pipelines' consumer, in its own process as our ingest is: one MQTT.js connection subscribed
 * QoS 1 to TOPIC (MQTT.js acknowledges each delivery at once). Prints `subscribed`, then `done <epoch ms>`
 * when EXPECT messages have arrived (the clock is performance.timeOrigin + now(), as in the bench process),
 * and `count <n>` on SIGTERM.
 */
import mqtt from 'mqtt'

const url = process.env['MQTT_URL']!
const topic = process.env['TOPIC']!
const expect = Number(process.env['EXPECT'])
let count = 0
const client = await mqtt.connectAsync(url, { clientId: `bench-sub-${process.pid}`, clean: true, reconnectPeriod: 0 })
client.on('message', () => {
  if (++count === expect) process.stdout.write(`done ${performance.timeOrigin + performance.now()}\n`)
})
await client.subscribeAsync(topic, { qos: 1 })
process.stdout.write('subscribed\n')
process.once('SIGTERM', () => {
  process.stdout.write(`count ${count}\n`)
  client.end(true, () => process.exit(0))
  setTimeout(() => process.exit(0), 1_000).unref()
})
