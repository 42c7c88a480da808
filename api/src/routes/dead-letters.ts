import { Router } from 'express'
import { DeadLetterParams } from '@mytho/schema'
import type { ReadingStore } from '@mytho/storage'
import { parseInput } from '../http-errors.ts'

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
