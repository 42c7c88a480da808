import { z } from 'zod'
import { COMMON_PASSWORDS } from './common-passwords.ts'

/*
 * The operator password policy (issue #15), the one place it is written: every way an operator password is set
 * (the first admin from ADMIN_PASSWORD, POST /api/v1/operators, the create-operator CLI's OPERATOR_PASSWORD) goes
 * through it, and the generated demo passwords are drawn until they pass it. It does not apply to sign-in (a
 * password set before the policy still signs in), nor to device or broker secrets.
 *
 * Rules, checked in this order; the first one broken is the message (English, as the API answers):
 *   1. 12 to 1,024 characters;
 *   2. not one character repeated (`aaaaaaaaaaaa`), nor a few characters repeated (`abcabcabcabc`, `Summer!Summer!`);
 *   3. not a sequence or keyboard walk (`123456789012`, `abcdefghijkl`, `qwertyuiop12`, `1qaz2wsx3edc`): at most a
 *      quarter of the steps from one character to the next may be "surprising" (anything but the same key, the
 *      next/previous letter or digit, or a neighbouring key on a QWERTY keyboard);
 *   4. not a common password (common-passwords.ts), after undoing the usual disguises (case, separators, up to
 *      6 digits/symbols around it, letter-for-digit swaps such as p@ssw0rd);
 *   5. not containing the user name (ignoring case, dots, dashes, underscores and spaces).
 * Messages never repeat the password (it ends up in logs and terminal scroll-back otherwise).
 */

export const PASSWORD_MIN_LENGTH = 12
export const PASSWORD_MAX_LENGTH = 1024

export const PASSWORD_RULES = {
  minLength: `at least ${PASSWORD_MIN_LENGTH} characters`,
  maxLength: `at most ${PASSWORD_MAX_LENGTH} characters`,
  oneCharacter: 'must not be one character repeated',
  repeated: 'must not be a few characters repeated',
  sequence: 'must not be a sequence or a keyboard pattern (like 123456789012 or qwertyuiop12)',
  username: 'must not contain the user name',
  common: 'is too common (on the list of common passwords)',
} as const

/** US QWERTY, unshifted; each row's horizontal offset in key widths, so keys of neighbouring rows that touch can be found. */
const ROWS: [string, number][] = [
  ['`1234567890-=', 0],
  ['qwertyuiop[]\\', 1.5],
  ["asdfghjkl;'", 1.75],
  ['zxcvbnm,./', 2.25],
]
const SHIFTED: Record<string, string> = {
  '~': '`',
  '!': '1',
  '@': '2',
  '#': '3',
  $: '4',
  '%': '5',
  '^': '6',
  '&': '7',
  '*': '8',
  '(': '9',
  ')': '0',
  _: '-',
  '+': '=',
  '{': '[',
  '}': ']',
  '|': '\\',
  ':': ';',
  '"': "'",
  '<': ',',
  '>': '.',
  '?': '/',
}
const NEIGHBOURS: Map<string, Set<string>> = (() => {
  const keys: { c: string; row: number; x: number }[] = []
  for (const [r, [row, offset]] of ROWS.entries()) for (const [i, c] of [...row].entries()) keys.push({ c, row: r, x: i + offset })
  const out = new Map<string, Set<string>>()
  for (const a of keys)
    out.set(
      a.c,
      new Set(
        keys
          .filter((b) => b !== a && ((b.row === a.row && Math.abs(b.x - a.x) === 1) || (Math.abs(b.row - a.row) === 1 && Math.abs(b.x - a.x) <= 0.75)))
          .map((b) => b.c),
      ),
    )
  return out
})()

const isDigit = (c: string) => c >= '0' && c <= '9'
const isLetter = (c: string) => c >= 'a' && c <= 'z'
/** The same key, the next or previous letter or digit, or a touching key: a step a guesser tries first. */
function predictable(a: string, b: string): boolean {
  if (a === b) return true
  const ka = SHIFTED[a] ?? a
  const kb = SHIFTED[b] ?? b
  if (ka === kb || NEIGHBOURS.get(ka)?.has(kb)) return true
  const step = Math.abs(a.charCodeAt(0) - b.charCodeAt(0))
  return step === 1 && ((isDigit(a) && isDigit(b)) || (isLetter(a) && isLetter(b)))
}

/** The length of the shortest piece the string is a repetition of (itself when it is none). */
function period(s: string): number {
  for (let p = 1; p <= s.length / 2; p++) {
    let ok = true
    for (let i = p; i < s.length && ok; i++) ok = s[i] === s[i - p]
    if (ok) return p
  }
  return s.length
}

const LEET: Record<string, string> = { '@': 'a', '4': 'a', '8': 'b', '3': 'e', '6': 'g', '1': 'i', '!': 'i', '0': 'o', $: 's', '5': 's', '7': 't', '+': 't' }
const compact = (s: string) => s.toLowerCase().replace(/[\s._-]+/g, '')
const unleet = (s: string) => s.replace(/[@48361!0$57+]/g, (c) => LEET[c]!)
/** Up to 6 non-letters trimmed from each end: `password2024!` → `password`; `2847561938dragon` is left alone. */
const trimmed = (s: string) => s.replace(/^[^a-z]{1,6}(?=[a-z])/, '').replace(/(?<=[a-z])[^a-z]{1,6}$/, '')
/** The forms a password is compared to the common list in. */
function disguisesOf(password: string): string[] {
  const c = compact(password)
  const t = trimmed(c)
  return [c, t, unleet(t), trimmed(unleet(c))]
}
const COMMON: Set<string> = new Set(COMMON_PASSWORDS.flatMap((w) => disguisesOf(w)).filter((w) => w.length >= 3))

/**
 * What is wrong with `password` as an operator password (for `username`, when known), as the message to show;
 * undefined when it is acceptable. The message never contains the password.
 */
export function passwordProblem(password: string, username?: string): string | undefined {
  if (password.length < PASSWORD_MIN_LENGTH) return PASSWORD_RULES.minLength
  if (password.length > PASSWORD_MAX_LENGTH) return PASSWORD_RULES.maxLength
  return shapeProblem(password) ?? commonProblem(password) ?? (username === undefined ? undefined : usernameProblem(password, username))
}

function shapeProblem(password: string): string | undefined {
  const lower = password.toLowerCase()
  const p = period(lower)
  if (p === 1) return PASSWORD_RULES.oneCharacter
  if (p < PASSWORD_MIN_LENGTH && p <= lower.length / 2) return PASSWORD_RULES.repeated
  let surprises = 0
  for (let i = 1; i < lower.length; i++) if (!predictable(lower[i - 1]!, lower[i]!)) surprises++
  if (surprises <= Math.floor(lower.length / 4)) return PASSWORD_RULES.sequence
  return undefined
}

function usernameProblem(password: string, username: string): string | undefined {
  const name = compact(username)
  return name.length >= 3 && (compact(password).includes(name) || password.toLowerCase().includes(username.toLowerCase())) ? PASSWORD_RULES.username : undefined
}

function commonProblem(password: string): string | undefined {
  return disguisesOf(password).some((d) => COMMON.has(d)) ? PASSWORD_RULES.common : undefined
}

/** A new operator password: rules 1–4 (the user name rule needs the name: `refinePasswordNotUsername` on the object). */
export const NewPassword = z
  .string()
  .min(PASSWORD_MIN_LENGTH, PASSWORD_RULES.minLength)
  .max(PASSWORD_MAX_LENGTH, PASSWORD_RULES.maxLength)
  .superRefine((password, ctx) => {
    const problem = shapeProblem(password) ?? commonProblem(password)
    if (problem) ctx.addIssue({ code: 'custom', message: problem })
  })

/** Rule 5 on an object with `username` and `password` (a `NewPassword`): `.superRefine(refinePasswordNotUsername)`, issue on `password`. */
export function refinePasswordNotUsername(v: { username: string; password: string }, ctx: z.RefinementCtx): void {
  const problem = usernameProblem(v.password, v.username)
  if (problem) ctx.addIssue({ code: 'custom', path: ['password'], message: problem })
}
