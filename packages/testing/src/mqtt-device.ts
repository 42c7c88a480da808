import mqtt, { type MqttClient } from 'mqtt'
import { readingsTopic, statusTopic } from '@mytho/schema'

/** A device as installers configure it: its id as user name and client id, its secret, a Last Will `offline`. */
export function connectDevice(mqttUrl: string, deviceId: string, secret: string): Promise<MqttClient> {
  return mqtt.connectAsync(mqttUrl, {
    clientId: deviceId,
    username: deviceId,
    password: secret,
    reconnectPeriod: 0,
    will: { topic: statusTopic(deviceId), payload: Buffer.from('offline'), qos: 1, retain: true },
  })
}

/** Publishes a reading (or a raw string, or an array) on the device's own readings topic, QoS 1. */
export const publishReading = (client: MqttClient, deviceId: string, body: unknown) =>
  client.publishAsync(readingsTopic(deviceId), typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 })
