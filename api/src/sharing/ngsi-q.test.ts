import { describe, expect, it } from 'vitest'
import { attributesOf, parseNgsiQuery, QueryError } from './ngsi-q.ts'

const gauge = { currentLevel: 152, alertLevel: 150, areaServed: 'my-tho', name: 'Trạm Mỹ Tho' }

describe('NGSI-LD query language (CIM 009 §4.9)', () => {
  it.each([
    ['currentLevel>=150', true],
    ['currentLevel>=153', false],
    // A value, not another attribute: "alertLevel" is no number.
    ['currentLevel>alertLevel', 'not a number, "string" or true/false: alertLevel'],
    ['currentLevel==150..155', true],
    ['currentLevel!=150..155', false],
    ['areaServed=="a,b","my-tho"', true],
    ['areaServed=="my-tho..x"', false],
    ['areaServed=="dao-thanh","my-tho"', true],
    ['areaServed!="my-tho"', false],
    ['currentLevel<100|areaServed=="my-tho"', true],
    ['currentLevel<100;areaServed=="my-tho"', false],
    ['(currentLevel<100|currentLevel>150);areaServed=="my-tho"', true],
    ['pm25', false],
    ['currentLevel', true],
    ['pm25<10', false],
    ['name=="Trạm Mỹ Tho"', true],
  ])('%s → %s', (q, want) => {
    let got: boolean | string
    try {
      got = parseNgsiQuery(q)(gauge)
    } catch (err) {
      got = (err as Error).message
    }
    expect(got).toBe(want)
  })

  it('refuses what it does not take, saying what and where', () => {
    const message = (q: string) => {
      try {
        parseNgsiQuery(q)
        return 'parsed'
      } catch (err) {
        expect(err).toBeInstanceOf(QueryError)
        return (err as Error).message
      }
    }
    expect(message('currentLevel~=1.*')).toMatchInlineSnapshot(`"pattern operators ~= and !~= are not supported"`)
    expect(message('currentLevel>=')).toMatchInlineSnapshot(`"not a number, "string" or true/false: (nothing)"`)
    expect(message('currentLevel>=1)')).toMatchInlineSnapshot(`"unexpected ) at 15"`)
    expect(message('(currentLevel>=1')).toMatchInlineSnapshot(`"missing ) at 16"`)
    expect(message('location.coordinates==1')).toMatchInlineSnapshot(`"attribute paths (location.…) are not supported"`)
    expect(message('currentLevel>1..2')).toMatchInlineSnapshot(`"a range takes == or !=, not >"`)
  })

  it('names the attributes a query reads', () => {
    expect(attributesOf('(currentLevel>=150|currentLevel<0);areaServed=="x"')).toEqual(['currentLevel', 'areaServed'])
  })
})
