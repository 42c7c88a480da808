import { z } from 'zod'
import { commonEnv, env, parseEnv } from '@mytho/runtime'

export const apiEnv = commonEnv.extend({
  /** HTTP port of the API and the map. Default 8080. */
  HTTP_PORT: env.port(8080),
  /** Interface to listen on. Default 0.0.0.0. */
  HTTP_HOST: z.string().default('0.0.0.0'),
  /** Optional registry file; default the seed fleet. */
  DEVICE_REGISTRY_FILE: z.string().optional(),
})
export type ApiConfig = z.infer<typeof apiEnv>
export const loadApiConfig = (e: Record<string, string | undefined> = process.env): ApiConfig => parseEnv(apiEnv, e)
