import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { startRedisServer } from './redis-server.ts'

/** One RESP command over a fresh connection; the raw reply. */
function send(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${command}\r\n`))
    socket.once('data', (b) => {
      socket.destroy()
      resolve(b.toString())
    })
    socket.once('error', reject)
  })
}

describe('startRedisServer', () => {
  it('starts a throwaway redis-server on a free loopback port and kills it on stop', async () => {
    const redis = await startRedisServer()
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`)
      expect(await send(redis.port, 'SET k v')).toBe('+OK\r\n')
      expect(await send(redis.port, 'CONFIG GET save')).toContain('save')
      expect(existsSync(redis.dir)).toBe(true)
    } finally {
      await redis.stop()
      await redis.stop() // safe twice
    }
    await expect(send(redis.port, 'PING')).rejects.toThrow(/ECONNREFUSED/)
    expect(existsSync(redis.dir)).toBe(false)
  })

  it('gives each caller its own server', async () => {
    const [a, b] = await Promise.all([startRedisServer(), startRedisServer()])
    try {
      expect(a.port).not.toBe(b.port)
      await send(a.port, 'SET only-a 1')
      expect(await send(b.port, 'EXISTS only-a')).toBe(':0\r\n')
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})
