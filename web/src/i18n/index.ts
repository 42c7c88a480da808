import { en } from './en.ts'
import { vi, type Dict, type DictKey } from './vi.ts'

export type Lang = 'vi' | 'en'
export type { DictKey }
const dicts: Record<Lang, Dict> = { vi, en }
/** localStorage key of the operator's language choice. */
export const LANG_STORAGE_KEY = 'mytho.lang'

function storedLang(): Lang {
  try {
    const v = localStorage.getItem(LANG_STORAGE_KEY)
    return v === 'en' ? 'en' : 'vi'
  } catch {
    return 'vi' // storage blocked (private mode): Vietnamese, the default
  }
}

let lang: Lang = storedLang()
const listeners = new Set<(l: Lang) => void>()

export const getLang = (): Lang => lang
export const t = (key: DictKey): string => dicts[lang][key]
/** Any key built at runtime (field_…, kind_…); falls back to the key itself for an unknown name. */
export const tx = (key: string): string => (dicts[lang] as Record<string, string>)[key] ?? key.replace(/^[a-z]+_/, '')

export function setLang(l: Lang): void {
  lang = l
  try {
    localStorage.setItem(LANG_STORAGE_KEY, l)
  } catch {
    /* not remembered; still switched */
  }
  document.documentElement.lang = l
  applyStatic()
  for (const f of listeners) f(l)
}
/** Vietnamese ⇄ English (the header's and the sign-in page's language buttons). */
export const toggleLang = (): void => setLang(lang === 'vi' ? 'en' : 'vi')
export const onLangChange = (f: (l: Lang) => void): void => void listeners.add(f)

/** Elements carrying data-i18n (text) or data-i18n-placeholder / data-i18n-title get their text from the dictionary. */
export function applyStatic(root: ParentNode = document): void {
  for (const el of root.querySelectorAll<HTMLElement>('[data-i18n]')) el.textContent = tx(el.dataset['i18n'] ?? '')
  for (const el of root.querySelectorAll<HTMLInputElement>('[data-i18n-placeholder]')) el.placeholder = tx(el.dataset['i18nPlaceholder'] ?? '')
  for (const el of root.querySelectorAll<HTMLElement>('[data-i18n-title]')) el.title = tx(el.dataset['i18nTitle'] ?? '')
  document.title = t('title')
}
