import { createLoginThrottle, createRateLimit } from './throttle.ts'
import { runThrottleContract } from './throttle.test-suite.ts'

runThrottleContract('in memory', async () => ({ throttle: (o) => createLoginThrottle(o), rateLimit: (n) => createRateLimit(n) }))
