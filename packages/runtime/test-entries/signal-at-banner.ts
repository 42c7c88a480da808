// A service whose banner callback receives SIGTERM at once, as a supervisor or a test that waits for the banner may
// send it: the process must still stop cleanly (exit 0, stop() run), never die of the signal.
import { createLogger, runMain } from '../src/index.ts'

const logger = createLogger('error', { service: 'signal-at-banner' })
await runMain(
  'signal-at-banner',
  logger,
  () => {
    // Stands for the service's listening sockets: something that keeps the process alive until stop().
    let serving: NodeJS.Timeout | undefined
    return {
      start: async () => {
        serving = setInterval(() => {}, 60_000)
        return 'started'
      },
      stop: async () => {
        clearInterval(serving)
        process.stdout.write('stopped cleanly\n')
      },
    }
  },
  () => {
    process.stdout.write('banner\n')
    process.kill(process.pid, 'SIGTERM')
  },
)
