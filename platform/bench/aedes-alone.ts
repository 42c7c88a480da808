/*
 * Aedes alone, the reference ceiling for our broker: a bare Aedes.createBroker() (in-memory persistence, no
 * authentication, no guards) behind a plain net server on 127.0.0.1. Prints `listening <port>`; SIGTERM closes it.
 */
import { createServer } from 'node:net'
import { Aedes } from 'aedes'

const aedes = await Aedes.createBroker()
const server = createServer(aedes.handle)
server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  const addr = server.address()
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : 0}\n`)
})
process.once('SIGTERM', () => {
  server.close()
  aedes.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2_000).unref()
})
