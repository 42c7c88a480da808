import { LOCAL_OFFSET_MS } from '../generators/time.ts'

/** Real ms after start at which simulated time t is reached. */
export const realOffset = (startMs: number, t: number, speed: number): number => Math.max(0, Math.round((t - startMs) / speed))

/** "2025-10-06 17:42" in Mỹ Tho time (UTC+7), for people reading expectations. */
export const localLabel = (t: number): string => new Date(t + LOCAL_OFFSET_MS).toISOString().slice(0, 16).replace('T', ' ')
