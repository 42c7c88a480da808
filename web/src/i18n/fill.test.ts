import { describe, expect, it } from 'vitest'
import { fill } from './fill.ts'

describe('fill', () => {
  it('takes the English singular or plural by the number, and a Vietnamese line as it is', () => {
    expect(fill('{n|incident|incidents}', { n: 1 })).toBe('1 incident')
    expect(fill('{n|incident|incidents}', { n: 2 })).toBe('2 incidents')
    expect(fill('{n|incident|incidents}', { n: 0 })).toBe('0 incidents')
    expect(fill('{n|byte|bytes}, page {page}', { n: '1', page: 3 })).toBe('1 byte, page 3')
    expect(fill('{n} sự cố', { n: 1 })).toBe('1 sự cố')
  })

  it('keeps a value as text ($& stays) and leaves an unknown placeholder visible', () => {
    expect(fill('{name} · {missing}', { name: 'Trạm $& Mỹ Tho' })).toBe('Trạm $& Mỹ Tho · {missing}')
  })
})
