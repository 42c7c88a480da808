import { AgencyKeyScope, agencyAccessLevels, type AgencyAccess, type AgencyKeyCreateRequest } from '@mytho/schema/agency-keys'
import type { DeviceKind, Ward } from '@mytho/schema/kinds'
import { deviceKinds, wardNames, wards } from '@mytho/schema/lists'
import { getLang, tx } from '../i18n/index.ts'
import { fill } from '../i18n/admin.ts'
import { kt, ktx } from '../i18n/admin-agency-keys.ts'
import { Refusal } from './api.ts'
import { el } from './dom.ts'
import { localDayEndMs } from './local-time.ts'
import type { z } from 'zod'

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T

/** The schema's defaults and bounds, so the form starts where the API would and says the same limits. */
const RATE = AgencyKeyScope.shape.ratePerMinute
const DEFAULT_RATE = RATE.parse(undefined)
const RATE_MIN = RATE.unwrap().minValue ?? 1
const RATE_MAX = RATE.unwrap().maxValue ?? DEFAULT_RATE
const DEFAULT_ACCESS = AgencyKeyScope.shape.access.parse(undefined)

/** The form fields a refusal names (the API's `invalid body field <path>`), to show the reason and put the cursor there. */
const FIELD_INPUT: Record<string, string> = {
  name: 'ak-name',
  agency: 'ak-agency',
  kinds: `ak-kind-${deviceKinds[0]}`,
  wards: 'ak-ward-all',
  access: `ak-access-${DEFAULT_ACCESS}`,
  ratePerMinute: 'ak-rate',
  expiresAt: 'ak-expires',
}

function choice(type: 'checkbox' | 'radio', name: string, value: string, id: string, checked = false): HTMLLabelElement {
  const label = el('label', { className: 'ak-option' })
  const input = el('input')
  input.type = type
  input.name = name
  input.value = value
  input.id = id
  input.defaultChecked = checked
  input.checked = checked
  label.append(input, ' ', el('span', { className: 'ak-option-text' }))
  return label
}

/**
 * The issue form (admin.html #ak-create): key name, agency, the scope's kinds, wards (with "all"), access and rate,
 * and an optional last day. It checks nothing the API checks: the API's refusal, in the page's words, is shown here.
 */
export function createKeyForm() {
  const form = $<HTMLFormElement>('ak-create')
  const error = $('ak-create-error')
  const wardAll = $<HTMLInputElement>('ak-ward-all')
  const rate = $<HTMLInputElement>('ak-rate')
  rate.min = String(RATE_MIN)
  rate.max = String(RATE_MAX)
  rate.defaultValue = String(DEFAULT_RATE)
  rate.value = String(DEFAULT_RATE)
  $('ak-kind-list').replaceChildren(...deviceKinds.map((k) => choice('checkbox', 'kinds', k, `ak-kind-${k}`)))
  $('ak-ward-list').replaceChildren(...wards.map((w) => choice('checkbox', 'wards', w, `ak-ward-${w}`)))
  $('ak-access-list').replaceChildren(...agencyAccessLevels.map((a) => choice('radio', 'access', a, `ak-access-${a}`, a === DEFAULT_ACCESS)))

  const boxes = (name: string) => [...form.querySelectorAll<HTMLInputElement>(`input[name="${name}"]`)]
  const checked = (name: string) => boxes(name).flatMap((b) => (b.checked ? [b.value] : []))

  /** "All wards" reads as every ward ticked, and half-ticked when some are. */
  function syncAll(): void {
    const n = checked('wards').length
    wardAll.checked = n === wards.length
    wardAll.indeterminate = n > 0 && n < wards.length
  }
  wardAll.addEventListener('change', () => {
    for (const b of boxes('wards')) b.checked = wardAll.checked
    syncAll()
  })
  for (const b of boxes('wards')) b.addEventListener('change', syncAll)
  form.addEventListener('reset', () => queueMicrotask(syncAll))

  function render(): void {
    const say = (id: string, text: string) => ($(id).nextElementSibling!.textContent = text)
    for (const k of deviceKinds) say(`ak-kind-${k}`, tx(`kind_${k}`))
    for (const w of wards) say(`ak-ward-${w}`, wardNames[w][getLang()])
    for (const a of agencyAccessLevels) say(`ak-access-${a}`, kt(`access_${a}`))
  }

  /** What the form asks for, as the API takes it (the API trims the names and fills in what is left out). */
  function read(): z.input<typeof AgencyKeyCreateRequest> {
    const access = checked('access')[0] as AgencyAccess | undefined
    const expiresAt = localDayEndMs($<HTMLInputElement>('ak-expires').value)
    return {
      name: $<HTMLInputElement>('ak-name').value,
      agency: $<HTMLInputElement>('ak-agency').value,
      scope: {
        kinds: checked('kinds') as DeviceKind[],
        wards: checked('wards') as Ward[],
        ...(access ? { access } : {}),
        // an emptied field is the default; anything else typed goes as typed, for the API to judge
        ...(rate.value.trim() === '' ? {} : { ratePerMinute: Number(rate.value) }),
      },
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    }
  }

  function clearError(): void {
    error.hidden = true
    error.textContent = ''
    for (const e of form.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid')
  }

  /** A refusal next to the form: the field it names in the page's words, the cursor put there; else the API's own words. */
  function refused(err: unknown, fallback: string): void {
    let why = fallback
    let field: string | undefined
    if (err instanceof Refusal) {
      field = /^invalid body field (?:scope\.)?(\w+)/.exec(err.apiMessage)?.[1]
      why = (field && ktx(`field_${field}`)) || err.text
    }
    error.textContent = fill(kt('issueRefused'), { why: fill(why, { min: RATE_MIN, max: RATE_MAX }) })
    error.hidden = false
    const id = field === undefined ? undefined : FIELD_INPUT[field]
    const input = id === undefined ? undefined : $(id)
    if (input) {
      input.setAttribute('aria-invalid', 'true')
      input.focus()
    }
  }

  return { form, render, read, clearError, refused }
}
