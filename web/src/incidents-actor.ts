import { anonymousAddress, type Incident } from './schema.ts'
import { t } from './i18n/index.ts'

/**
 * Who acknowledged, as the panel and the popup say it. An operator is their user name. An acknowledgement without a
 * session (AUTH_DISABLED) is "Ẩn danh (address)", with the name the caller gave quoted as a claim: it is unchecked
 * text, never shown as if it were an operator (issue #15). Callers put the result in with textContent.
 */
export function acknowledgerText(i: Incident): string | undefined {
  if (i.acknowledgedBy === null) return undefined
  const address = anonymousAddress(i.acknowledgedBy)
  if (address === undefined) return i.acknowledgedBy
  const event = i.events.findLast((e) => e.type === 'acknowledged' && e.by === i.acknowledgedBy && e.at === i.acknowledgedAt)
  const claimed = event?.claimedBy
  // replacement functions: a `$&` in a claimed name is text, not a replacement pattern
  const text = (claimed !== undefined ? t('ackAnonymousClaims') : t('ackAnonymous')).replace('{ip}', () => address)
  return claimed !== undefined ? text.replace('{name}', () => claimed) : text
}
