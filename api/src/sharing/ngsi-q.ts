/*
 * The NGSI-LD query language (ETSI GS CIM 009 §4.9), the part agencies use on our entities: `attr op value` terms
 * joined by `;` (and) and `|` (or, binding looser), parentheses, and a bare attribute name (it exists).
 * Operators ==, !=, >, >=, <, <=; values are numbers, "quoted strings", true/false, a range `a..b` or a list `a,b`
 * (== and != only). Evaluated on an entity's key-value form (toNgsiEntity(…, 'keyValues')).
 * Not supported, refused with a QueryError naming it: ~= and !~= (a caller's regular expression would run on our
 * CPU), attribute paths with dots or brackets.
 */

export class QueryError extends Error {
  override name = 'QueryError'
}

type Value = number | string | boolean
type Op = '==' | '!=' | '>' | '>=' | '<' | '<='
type Node =
  | { t: 'and' | 'or'; items: Node[] }
  | { t: 'has'; attr: string }
  | { t: 'cmp'; attr: string; op: Op; value: Value | { range: [Value, Value] } | { list: Value[] } }

export type NgsiQuery = (entity: Record<string, unknown>) => boolean

const ATTR = /^[A-Za-z_][A-Za-z0-9_]*/
const OPS: Op[] = ['==', '!=', '>=', '<=', '>', '<']

function parseValue(s: string): Value {
  if (s === 'true' || s === 'false') return s === 'true'
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw new QueryError(`unterminated string ${s}`)
    return s.slice(1, -1)
  }
  const n = Number(s)
  if (s === '' || !Number.isFinite(n)) throw new QueryError(`not a number, "string" or true/false: ${s || '(nothing)'}`)
  return n
}

/** `raw` cut at each `sep` that is not inside a quoted string. */
function splitOutsideQuotes(raw: string, sep: string): string[] {
  const parts: string[] = []
  let quoted = false
  let from = 0
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '"') quoted = !quoted
    else if (!quoted && raw.startsWith(sep, i)) {
      parts.push(raw.slice(from, i).trim())
      from = i + sep.length
      i += sep.length - 1
    }
  }
  parts.push(raw.slice(from).trim())
  return parts
}

/** Parses `q`; throws a QueryError saying what is wrong and where. */
export function parseNgsiQuery(q: string): NgsiQuery {
  let i = 0
  const peek = () => q[i]
  function term(): Node {
    if (peek() === '(') {
      i++
      const inner = or()
      if (peek() !== ')') throw new QueryError(`missing ) at ${i}`)
      i++
      return inner
    }
    const m = ATTR.exec(q.slice(i))
    if (!m) throw new QueryError(`expected an attribute name at ${i}`)
    const attr = m[0]
    i += attr.length
    if (q[i] === '.' || q[i] === '[') throw new QueryError(`attribute paths (${attr}${q[i]}…) are not supported`)
    if (q.startsWith('~=', i) || q.startsWith('!~=', i)) throw new QueryError('pattern operators ~= and !~= are not supported')
    const op = OPS.find((o) => q.startsWith(o, i))
    if (!op) return { t: 'has', attr }
    i += op.length
    // The value runs to the next ; | or ) outside a quoted string.
    let j = i
    let quoted = false
    while (j < q.length && (quoted || !';|)'.includes(q[j]!))) {
      if (q[j] === '"') quoted = !quoted
      j++
    }
    const raw = q.slice(i, j).trim()
    i = j
    const range = splitOutsideQuotes(raw, '..')
    if (range.length > 1) {
      if (op !== '==' && op !== '!=') throw new QueryError(`a range takes == or !=, not ${op}`)
      if (range.length !== 2) throw new QueryError(`a range is a..b: ${raw}`)
      return { t: 'cmp', attr, op, value: { range: [parseValue(range[0]!), parseValue(range[1]!)] } }
    }
    const list = splitOutsideQuotes(raw, ',')
    if (list.length > 1) {
      if (op !== '==' && op !== '!=') throw new QueryError(`a list takes == or !=, not ${op}`)
      return { t: 'cmp', attr, op, value: { list: list.map(parseValue) } }
    }
    return { t: 'cmp', attr, op, value: parseValue(raw) }
  }
  function and(): Node {
    const items = [term()]
    while (peek() === ';') {
      i++
      items.push(term())
    }
    return items.length === 1 ? items[0]! : { t: 'and', items }
  }
  function or(): Node {
    const items = [and()]
    while (peek() === '|') {
      i++
      items.push(and())
    }
    return items.length === 1 ? items[0]! : { t: 'or', items }
  }
  const root = or()
  if (i !== q.length) throw new QueryError(`unexpected ${q[i]} at ${i}`)
  return (entity) => evaluate(root, entity)
}

function compare(have: unknown, op: Op, want: Value): boolean {
  if (typeof have !== typeof want) return op === '!='
  const a = have as Value
  switch (op) {
    case '==':
      return a === want
    case '!=':
      return a !== want
    case '>':
      return a > want
    case '>=':
      return a >= want
    case '<':
      return a < want
    case '<=':
      return a <= want
  }
}

function evaluate(n: Node, e: Record<string, unknown>): boolean {
  switch (n.t) {
    case 'and':
      return n.items.every((x) => evaluate(x, e))
    case 'or':
      return n.items.some((x) => evaluate(x, e))
    case 'has':
      return e[n.attr] !== undefined
    case 'cmp': {
      const have = e[n.attr]
      if (have === undefined) return false
      const v = n.value
      if (typeof v === 'object') {
        const inside = 'range' in v ? compare(have, '>=', v.range[0]) && compare(have, '<=', v.range[1]) : v.list.some((x) => compare(have, '==', x))
        return n.op === '==' ? inside : !inside
      }
      return compare(have, n.op, v)
    }
  }
}

/** The attribute names a query reads (a subscription's q names what it watches when watchedAttributes is absent). */
export function attributesOf(q: string): string[] {
  return [...new Set([...q.matchAll(/(?:^|[;|(])\s*([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!))]
}
