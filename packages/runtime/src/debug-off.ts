/*
 * Imported first by each service's entry, for its side effect: the `debug` package's loggers that DEBUG does not
 * enable at start become empty functions.
 *
 * Why: mqtt-packet calls its `debug` loggers about a dozen times for every packet it parses and a few for every packet
 * it writes, and ioredis once per command. A `debug` logger is `function debug(...args)`, so even switched off every
 * call builds its arguments array before it looks at `enabled`: in the broker under load that was 13 % of all the
 * bytes allocated (a sampling allocation profile of the embedded broker under the raw-socket bench), and mqtt-packet's
 * parser alone went from 1.85 to 1.02 µs per packet. An empty function taking no parameters allocates
 * nothing.
 *
 * What stays: DEBUG works as before for what it names when the service starts (those loggers are the real ones).
 * What goes: `debug.enable()` called later cannot switch on a logger made before it; nothing here calls it.
 * It has to run before the libraries create their loggers (when they are first loaded), hence an import of its own,
 * first in each entry and in `npm start`'s start-all.ts; debug-off.test.ts checks that mqtt-packet and ioredis get
 * them.
 */
import { createRequire } from 'node:module'

interface Logger {
  (...args: unknown[]): void
  namespace: string
  enabled: boolean
  extend(sub: string, delimiter?: string): Logger
}
interface DebugFactory {
  (namespace: string): Logger
  enabled(namespace: string): boolean
}

const require = createRequire(import.meta.url)
const path = require.resolve('debug')
const real = require('debug') as DebugFactory
const cached = require.cache[path]

function silent(namespace: string): Logger {
  return Object.assign(() => {}, {
    namespace,
    enabled: false,
    extend: (sub: string, delimiter = ':') => quiet(`${namespace}${delimiter}${sub}`),
  })
}

const quiet = Object.assign((namespace: string): Logger => (real.enabled(namespace) ? real(namespace) : silent(namespace)), real, {
  /** Marks the factory this module installed (tests, and a second import). */
  quietUnlessEnabledAtStart: true,
})
// An ES-module import of `debug` (interop) reads these.
Object.assign(quiet, { default: quiet, debug: quiet })

if (cached && !(cached.exports as { quietUnlessEnabledAtStart?: boolean }).quietUnlessEnabledAtStart) cached.exports = quiet
