import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { onTestFinished } from 'vitest'
import { readDemoSecrets, type DemoSecrets } from '@mytho/runtime'
import { waitFor } from '@mytho/testing'
import { createBroker, type Broker } from '../src/broker.ts'
import { loadBrokerConfig } from '../src/config.ts'
import { registry } from './harness.ts'

/*
 * Broker cluster nodes for the cluster tests: every node on the same Redis (which holds the credential store
 * too) and the same DATA_DIR, where the first node writes the demo secrets the tests' devices read.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

export interface ClusterNode {
  broker: Broker
  url: string
  port: number
}

/** An in-process node on 127.0.0.1 port 0 (no WebSocket, no publish rate limit); stopped when the test ends. */
export async function startNode(dataDir: string, redisUrl: string, env: Record<string, string> = {}): Promise<ClusterNode> {
  const config = loadBrokerConfig({
    DATA_DIR: dataDir,
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    MQTT_WS_PORT: 'off',
    MQTT_MAX_PUBLISH_PER_S: '0',
    REDIS_URL: redisUrl,
    ...env,
  })
  const broker = await createBroker(config, { registry })
  onTestFinished(() => broker.stop())
  const { mqttPort } = await broker.start()
  return { broker, url: `mqtt://127.0.0.1:${mqttPort}`, port: mqttPort }
}

export const secretsOf = (dataDir: string): DemoSecrets => readDemoSecrets(dataDir) ?? { devices: {}, services: {} }

/** Empties the Redis between tests, so no session or retained message of one test is seen by the next. */
export async function flushRedis(redisUrl: string): Promise<void> {
  const r = new Redis(redisUrl, { lazyConnect: true })
  await r.connect()
  await r.flushall()
  r.disconnect()
}

export interface NodeProcess {
  port: number
  output(): string
  /** Sends the signal and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>
}

/** The real entry point, `node --import tsx broker/src/main.ts`, as its own process on `port`; SIGKILLed when the test ends. */
export async function spawnNode(env: Record<string, string>, port: number): Promise<NodeProcess> {
  let out = ''
  const child = spawn(process.execPath, ['--import', 'tsx', 'broker/src/main.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env['PATH'] ?? '',
      LOG_LEVEL: 'info',
      MQTT_HOST: '127.0.0.1',
      MQTT_WS_PORT: 'off',
      MQTT_MAX_PUBLISH_PER_S: '0',
      MQTT_PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const keep = (b: Buffer) => (out = (out + b.toString()).slice(-100_000))
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    await exited
  }
  onTestFinished(() => kill('SIGKILL'))
  await waitFor(() => out.includes('broker: MQTT') || (child.exitCode !== null && Promise.reject(new Error(out))), {
    timeoutMs: 30_000,
    what: `broker node on port ${port}`,
  })
  return { port, output: () => out, kill }
}
