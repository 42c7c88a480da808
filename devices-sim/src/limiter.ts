/**
 * Runs at most `concurrency` tasks at once, the rest in arrival order. The simulator opens device
 * connections through it: each CONNECT costs the broker a scrypt hash, so 55 (or 10,000) devices
 * starting together must queue instead of stampeding it.
 */
export function createLimiter(concurrency: number) {
  let active = 0
  const queue: Array<() => void> = []
  const next = () => {
    if (active >= concurrency) return
    const start = queue.shift()
    if (start) {
      active++
      start()
    }
  }
  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push(() => {
          task()
            .then(resolve, reject)
            .finally(() => {
              active--
              next()
            })
        })
        next()
      })
    },
    get active() {
      return active
    },
    get queued() {
      return queue.length
    },
  }
}
export type Limiter = ReturnType<typeof createLimiter>
