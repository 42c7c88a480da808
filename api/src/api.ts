import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import express from 'express'
import type { DeviceRegistry } from '@mytho/schema'
import { once, type Logger } from '@mytho/runtime'
import type { ReadingStore } from '@mytho/storage'
import type { ApiConfig } from './config.ts'
import { errorHandler, notFound } from './http-errors.ts'
import { deadLettersRouter } from './routes/dead-letters.ts'
import { devicesRouter } from './routes/devices.ts'

export interface ApiDeps {
  store: ReadingStore
  registry: DeviceRegistry
  logger: Logger
  clock?: () => number
  /** Folder of the built map; default web/public. */
  webRoot?: string
}

export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/public', import.meta.url))

export function createApi(config: Pick<ApiConfig, 'HTTP_PORT' | 'HTTP_HOST'>, deps: ApiDeps) {
  const clock = deps.clock ?? Date.now
  const app = express()
  app.disable('x-powered-by')
  const v1 = express.Router()
  v1.get('/health', async (_req, res) => {
    try {
      await deps.store.latest(['__health__'])
      res.json({ status: 'ok', storage: 'ok' })
    } catch (err) {
      res.status(503).json({ status: 'degraded', storage: (err as Error).message })
    }
  })
  v1.use(devicesRouter(deps.registry, deps.store, clock))
  v1.use(deadLettersRouter(deps.store))
  app.use('/api/v1', v1)
  app.use(express.static(deps.webRoot ?? DEFAULT_WEB_ROOT))
  app.use(notFound)
  app.use(errorHandler(deps.logger))

  let server: Server | undefined
  return {
    app,
    async start(): Promise<{ port: number }> {
      await deps.store.init()
      const s = createServer(app)
      server = s
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(config.HTTP_PORT, config.HTTP_HOST, () => resolve())
      })
      return { port: (s.address() as AddressInfo).port }
    },
    stop: once(async () => {
      const s = server
      if (!s) return
      s.closeAllConnections()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    }),
  }
}
export type Api = ReturnType<typeof createApi>
