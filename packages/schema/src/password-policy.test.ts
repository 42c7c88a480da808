import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { OperatorCreateRequest } from './auth.ts'
import { COMMON_PASSWORDS } from './common-passwords.ts'
import { NewPassword, PASSWORD_RULES, passwordProblem } from './password-policy.ts'

describe('password policy (issue #15)', () => {
  it('names the rule a password breaks', () => {
    const cases: [string, string | undefined, string][] = [
      ['short1!', undefined, PASSWORD_RULES.minLength],
      ['x'.repeat(1025), undefined, PASSWORD_RULES.maxLength],
      ['aaaaaaaaaaaa', undefined, PASSWORD_RULES.oneCharacter],
      ['AaAaAaAaAaAa', undefined, PASSWORD_RULES.oneCharacter],
      ['abcabcabcabc', undefined, PASSWORD_RULES.repeated],
      ['Summer!Summer!', undefined, PASSWORD_RULES.repeated],
      ['123456789012', undefined, PASSWORD_RULES.sequence],
      ['987654321098', undefined, PASSWORD_RULES.sequence],
      ['abcdefghijkl', undefined, PASSWORD_RULES.sequence],
      ['qwertyuiop12', undefined, PASSWORD_RULES.sequence],
      ['QWERTYUIOP!@', undefined, PASSWORD_RULES.sequence],
      ['1qaz2wsx3edc', undefined, PASSWORD_RULES.sequence],
      ['zxcvbnmasdfg', undefined, PASSWORD_RULES.sequence],
      ['abc123def456', undefined, PASSWORD_RULES.sequence],
      ['password1234', undefined, PASSWORD_RULES.common],
      ['Password2024!', undefined, PASSWORD_RULES.common],
      ['p@ssw0rd2024', undefined, PASSWORD_RULES.common],
      ['i love you 123', undefined, PASSWORD_RULES.common],
      ['matkhau123456', undefined, PASSWORD_RULES.common],
      ['change-me-admin-password', 'chief', PASSWORD_RULES.common],
      ['lan.nguyen-2024!', 'lan.nguyen', PASSWORD_RULES.username],
      ['LanNguyen!river', 'lan.nguyen', PASSWORD_RULES.username],
      ['my admin password', 'admin', PASSWORD_RULES.username],
    ]
    for (const [password, username, rule] of cases)
      expect({ password: password.slice(0, 40), problem: passwordProblem(password, username) }).toEqual({ password: password.slice(0, 40), problem: rule })
  })

  it('takes ordinary long passwords and passphrases; digits around a common word only when there are many', () => {
    for (const ok of ['correct horse battery staple', 'a long enough password', 'river market at dawn', 'Tr0ub4dor&3xyz', 'Xk9#mQ2$vL7p', '2847561938dragon'])
      expect({ ok, problem: passwordProblem(ok, 'lan.nguyen') }).toEqual({ ok, problem: undefined })
  })

  it('takes random secrets like the generated ones (24 base64url characters)', () => {
    for (let i = 0; i < 20_000; i++) {
      const secret = randomBytes(18).toString('base64url')
      expect({ secret, problem: passwordProblem(secret) }).toEqual({ secret, problem: undefined })
    }
  })

  it('the common list is short, and every entry padded to 12 characters is refused', () => {
    expect(COMMON_PASSWORDS.length).toBeGreaterThan(100)
    expect(COMMON_PASSWORDS.length).toBeLessThanOrEqual(500)
    for (const w of COMMON_PASSWORDS.filter((w) => /^[a-z]{6,}$/.test(w))) {
      const problem = passwordProblem(`${w}2024!!`)
      expect({ w, refused: problem === PASSWORD_RULES.common || problem === PASSWORD_RULES.sequence || problem === PASSWORD_RULES.repeated }).toEqual({
        w,
        refused: true,
      })
    }
  })

  it('as schemas: NewPassword alone, and OperatorCreateRequest with the user name rule on the password field', () => {
    expect(NewPassword.safeParse('aaaaaaaaaaaa').error?.issues[0]?.message).toBe(PASSWORD_RULES.oneCharacter)
    expect(NewPassword.safeParse('a long enough password').success).toBe(true)
    const r = OperatorCreateRequest.safeParse({ username: 'lan.nguyen', password: 'lan.nguyen-2024!', role: 'operator' })
    expect(r.error?.issues.map((i) => [i.path, i.message])).toEqual([[['password'], PASSWORD_RULES.username]])
    expect(OperatorCreateRequest.safeParse({ username: 'lan.nguyen', password: 'river market at dawn', role: 'operator' }).success).toBe(true)
  })

  it('never repeats the password in a message', () => {
    for (const message of Object.values(PASSWORD_RULES)) expect(message).not.toMatch(/aaaaaaaaaaaa|password1234/)
  })
})
