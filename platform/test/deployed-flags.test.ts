import { afterEach, describe, expect, it } from 'vitest'
import { composeNodeFlags, nodeFlagsFor } from '../bench/deployed-flags.ts'

describe("the bench's node flags come from docker-compose.yml", () => {
  afterEach(() => {
    delete process.env['TEST_BENCH_FLAGS']
  })

  it("gives each process compose's flags, without the source maps tsx does itself", () => {
    expect(composeNodeFlags('broker')).toEqual(['--heap-growing-percent=100'])
    expect(composeNodeFlags('broker-2')).toEqual(['--heap-growing-percent=100'])
    expect(composeNodeFlags('api')).toEqual(['--single-threaded-gc'])
    expect(composeNodeFlags('ingest')).toEqual([])
  })

  it('names a service compose does not run with node', () => {
    expect(() => composeNodeFlags('influxdb')).toThrow(/service influxdb has no node command/)
    expect(() => composeNodeFlags('no-such-service')).toThrow(/no-such-service/)
  })

  it("takes the variable over compose when set, and an empty one as V8's defaults", () => {
    process.env['TEST_BENCH_FLAGS'] = '--max-semi-space-size=32  --single-threaded-gc'
    expect(nodeFlagsFor('api', 'TEST_BENCH_FLAGS')).toEqual(['--max-semi-space-size=32', '--single-threaded-gc'])
    process.env['TEST_BENCH_FLAGS'] = ''
    expect(nodeFlagsFor('broker', 'TEST_BENCH_FLAGS')).toEqual([])
    delete process.env['TEST_BENCH_FLAGS']
    expect(nodeFlagsFor('api', 'TEST_BENCH_FLAGS')).toEqual(['--single-threaded-gc'])
  })
})
