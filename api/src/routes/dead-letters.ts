import { Router } from 'express'
import { z } from 'zod'
import { RejectReason } from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'
import { parseInput } from '../http-errors.ts'

const DeadLetterParams = z.object({
  deviceId: z.string().optional(),
  code: RejectReason.optional(),
  from: z.coerce.number().int().optional(),
  to: z.coerce.number().int().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
})

/** Lets an operator see which devices send bad data, and why. */
export function deadLettersRouter(store: ReadingStore): Router {
  const r = Router()
  r.get('/dead-letters', async (req, res) => {
    const q = parseInput(DeadLetterParams, req.query, 'query')
    const query = Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as typeof q
    res.json(await store.deadLetters(query))
  })
  r.get('/dead-letters/counts', async (_req, res) => {
    res.json(await store.deadLetterCounts())
  })
  return r
}
