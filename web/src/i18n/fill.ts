/**
 * Placeholders filled: `{name}` takes the value as text (a replacement function, so a `$&` in a value stays text);
 * `{n|incident|incidents}` takes the English singular or plural by the number n, so no English line reads
 * "1 incidents" (Vietnamese has no plural and writes plain `{n} sự cố`).
 */
export const fill = (text: string, values: Record<string, string | number>): string =>
  text.replace(/\{(\w+)(?:\|([^|{}]*)\|([^|{}]*))?\}/g, (m, k: string, one?: string, other?: string) => {
    const v = values[k]
    if (v === undefined) return m
    if (one === undefined || other === undefined) return String(v)
    return `${v} ${Number(v) === 1 ? one : other}`
  })
