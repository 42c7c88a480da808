/*
 * A dead letter's payload, shown as device bytes, never as markup: the page puts every segment in with textContent.
 * Ingest keeps the payload as text (invalid UTF-8 bytes already became U+FFFD there, so the bytes themselves are
 * gone); what could still mislead an operator is escaped here: control characters as \xNN, invisible and
 * direction-changing characters and U+FFFD as \u{…}, each marked as an escape so `\x41` typed by a device and an
 * escape made here cannot be confused.
 */

export interface Segment {
  text: string
  /** An escape made here, not characters of the payload. */
  escaped: boolean
}

/** Zero-width, bidirectional controls, line/paragraph separators, BOM, and the replacement character. */
const INVISIBLE = /[\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufffd]/

const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0')

function escapeOf(ch: string): string | undefined {
  const cp = ch.codePointAt(0)!
  if (ch === '\n' || ch === '\t') return undefined
  if (cp < 0x20 || cp === 0x7f) return `\\x${hex2(cp)}`
  if (cp >= 0x80 && cp <= 0x9f) return `\\u{${cp.toString(16).toUpperCase()}}`
  if (INVISIBLE.test(ch)) return `\\u{${cp.toString(16).toUpperCase()}}`
  // a lone surrogate cannot be shown: it is what a broken encoding left
  if (cp >= 0xd800 && cp <= 0xdfff) return `\\u{${cp.toString(16).toUpperCase()}}`
  return undefined
}

/** The payload as text segments, escapes marked; adjacent plain characters joined. */
export function payloadSegments(raw: string): Segment[] {
  const out: Segment[] = []
  let plain = ''
  for (const ch of raw) {
    const esc = escapeOf(ch)
    if (esc === undefined) {
      plain += ch
      continue
    }
    if (plain) out.push({ text: plain, escaped: false })
    plain = ''
    out.push({ text: esc, escaped: true })
  }
  if (plain) out.push({ text: plain, escaped: false })
  return out
}

/** More than this share of escaped characters: not text an operator can read; hex says more. */
const NOT_TEXT_SHARE = 0.25

/** Whether the payload reads as text (with a few escapes) or is better shown as hex. */
export function looksLikeText(raw: string): boolean {
  if (raw.length === 0) return true
  let escaped = 0
  let total = 0
  for (const ch of raw) {
    total++
    if (escapeOf(ch) !== undefined) escaped++
  }
  return escaped / total <= NOT_TEXT_SHARE
}

/** Hex of the stored text's UTF-8 bytes, 16 a line with the offset: `0000  7b 22 6b …`. */
export function hexDump(raw: string): string {
  const bytes = new TextEncoder().encode(raw)
  const lines: string[] = []
  for (let i = 0; i < bytes.length; i += 16) {
    const row = Array.from(bytes.subarray(i, i + 16), (b) => b.toString(16).padStart(2, '0')).join(' ')
    lines.push(`${i.toString(16).padStart(4, '0')}  ${row}`)
  }
  return lines.join('\n')
}

/** Bytes of the stored text (UTF-8), to say when ingest cut a long payload. */
export const storedBytes = (raw: string): number => new TextEncoder().encode(raw).length
