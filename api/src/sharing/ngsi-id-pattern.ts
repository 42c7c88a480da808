import { createContext, Script } from 'node:vm'

/*
 * `idPattern` (CIM 009 §5.2.8): a regular expression from another agency, matched against our entity ids. JavaScript's
 * regular expressions backtrack, so a pattern like `(a+)+$` takes exponential time on a crafted input (ReDoS), and no
 * syntax check catches every such pattern (`(a|a)*`, `.*.*.*.*x` are polynomial or exponential without nesting
 * stars). So a pattern is never run on the event loop unbounded: each match runs in a vm context with a time limit,
 * which V8 enforces inside the regular expression engine too (TerminateExecution interrupts backtracking). The inputs
 * are our own entity ids (at most ~110 characters), a pattern is at most NGSI_ID_PATTERN_MAX characters, and the
 * notifier caches each (pattern, entity) answer, so a pattern runs once per entity, not once per reading.
 */

/** The longest one match may take, ms: far above what any sane pattern needs on a 110-character id (microseconds). */
export const ID_PATTERN_BUDGET_MS = 25

export class IdPatternError extends Error {
  override name = 'IdPatternError'
}

const context = createContext({ re: /$^/, ids: [] as string[], out: [] as boolean[] })
const matchAll = new Script('out = ids.map((id) => re.test(id))')

/** The pattern as a RegExp; IdPatternError naming what is wrong when it is not one. */
export function compileIdPattern(pattern: string): RegExp {
  try {
    // No flags: `g`/`y` would make test() stateful, `u`/`v` are spelled in the pattern itself in NGSI-LD.
    return new RegExp(pattern)
  } catch (err) {
    throw new IdPatternError(`not a regular expression: ${(err as Error).message}`)
  }
}

/**
 * Which of `ids` the pattern matches, all of them within `budgetMs` together; IdPatternError when it takes longer
 * (the pattern is too costly to run, whatever it would have answered).
 */
export function matchIdPattern(re: RegExp, ids: readonly string[], budgetMs = ID_PATTERN_BUDGET_MS): boolean[] {
  context['re'] = re
  context['ids'] = ids
  try {
    matchAll.runInContext(context, { timeout: budgetMs })
    return [...(context['out'] as boolean[])]
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT')
      throw new IdPatternError(`took longer than ${budgetMs} ms on our entity ids: write a simpler pattern (no nested or repeated wildcards)`)
    throw err
  } finally {
    context['re'] = /$^/
    context['ids'] = []
    context['out'] = []
  }
}
