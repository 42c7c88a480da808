import type { DeviceSecretResponse, ProvisionedDeviceView } from '@mytho/schema/auth'
import { deviceKinds, wardNames, wards } from '@mytho/schema/lists'
import type { DeviceKind } from '@mytho/schema/kinds'
import type { z } from 'zod'
import { formatLocalTime } from '../format.ts'
import { getLang, tx } from '../i18n/index.ts'
import { at, fill } from '../i18n/admin.ts'
import { dt, type DeviceKey } from '../i18n/admin-devices.ts'
import { errorText, Refusal, type AdminApi } from './api.ts'
import { createPlacementMap } from './device-map.ts'
import { showSecrets } from './device-secret.ts'
import { type Broker, type BrokerCa, brokerOf } from './mosquitto-line.ts'
import { button, el } from './dom.ts'
import './devices.css'

type Device = z.infer<typeof ProvisionedDeviceView>
type Secret = z.infer<typeof DeviceSecretResponse>

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T

/** Search ignores case and Vietnamese diacritics: "dao thanh" finds "Đạo Thạnh". */
export const fold = (s: string): string =>
  s
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .replace(/đ/gi, 'd')
    .toLowerCase()

const option = (value: string, text: string, selected: boolean) => {
  const o = new Option(text, value)
  o.selected = selected
  return o
}

/**
 * The devices section: every provisioned device with its state and when it was last heard, searchable; provision one
 * (its secret shown once), rotate a secret, disable, enable, move it on a small map. The API checks and audits each.
 */
export function createDevicesSection(o: { api: AdminApi; notify: (text: string) => void; changed: () => void }) {
  const { api, notify } = o
  const rows = $('dev-rows')
  const secretHost = $('dev-secret-host')
  const form = $<HTMLFormElement>('dev-create')
  const input = (name: string) => form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement
  let devices: Device[] = []
  let lastSeen = new Map<string, number | null>()
  /** The device being moved: the map's clicks fill the move form, not the provision form. */
  let moving: string | undefined
  /** The broker named in the test line: asked once, awaited before a secret is shown so the line is never the guess. */
  let broker: Promise<Broker> | undefined

  const map = createPlacementMap($('dev-map'), (lat, lon) => {
    const [latInput, lonInput] = moving ? [$<HTMLInputElement>('dev-move-lat'), $<HTMLInputElement>('dev-move-lon')] : [input('lat'), input('lon')]
    latInput.value = String(lat)
    lonInput.value = String(lon)
  })

  async function load(): Promise<void> {
    map.addTiles()
    broker ??= api
      .get<{ mqttUrl?: string; mqttCa?: BrokerCa }>('/config')
      .then((c) => brokerOf(c.mqttUrl, location.hostname, c.mqttCa))
      .catch(() => brokerOf(undefined, location.hostname))
    try {
      const [list, live] = await Promise.all([
        api.get<Device[]>('/admin/devices'),
        // when it was last heard is the live view's; a device not in it yet shows "never"
        api.get<{ id: string; lastSeen: number | null }[]>('/devices').catch(() => []),
      ])
      devices = list
      lastSeen = new Map(live.map((d) => [d.id, d.lastSeen]))
    } catch (err) {
      notify(errorText(err))
      return
    }
    render()
  }

  const brokerNow = (): Promise<Broker> => broker ?? Promise.resolve(brokerOf(undefined, location.hostname))

  async function act(run: () => Promise<unknown>, done: () => string, errorEl?: HTMLElement): Promise<boolean> {
    try {
      await run()
    } catch (err) {
      const text = fill(at('refused'), { why: errorText(err) })
      if (errorEl) {
        errorEl.textContent = text
        errorEl.hidden = false
      } else notify(text)
      return false
    }
    notify(done())
    o.changed()
    await load()
    return true
  }

  const name = (d: Device) => (getLang() === 'vi' ? d.nameVi : d.nameEn)

  function row(d: Device): HTMLTableRowElement {
    const tr = el('tr')
    tr.dataset['deviceId'] = d.id
    tr.dataset['state'] = d.disabled ? 'disabled' : 'enabled'
    tr.dataset['public'] = String(d.public !== false)
    const seen = lastSeen.get(d.id)
    const cells: [string, DeviceKey | undefined, string][] = [
      ['dev-id', undefined, d.id],
      ['dev-name', 'colDevice', name(d)],
      ['dev-kind', 'colKind', tx(`kind_${d.kind}`)],
      ['dev-ward', 'colWard', wardNames[d.ward][getLang()]],
      ['dev-state', undefined, d.disabled ? at('disabled') : at('enabled')],
      ['dev-seen', 'colLastSeen', seen ? formatLocalTime(seen) : dt('never')],
    ]
    for (const [cls, label, text] of cells) {
      const td = el('td', { className: cls, text })
      if (label) td.dataset['label'] = dt(label)
      tr.append(td)
    }
    tr.querySelector<HTMLElement>('.dev-state')!.dataset['label'] = at('colState')
    tr.append(publicCell(d))
    const actions = el('td', { className: 'dev-actions' })
    const path = `/admin/devices/${encodeURIComponent(d.id)}`
    actions.append(
      button(dt('rotate'), 'dev-rotate', () => {
        void act(
          async () => {
            const s = await api.post<Secret>(`${path}/rotate-secret`)
            showSecrets(secretHost, await brokerNow(), [{ ...s, kind: d.kind }])
          },
          () => fill(dt('rotated'), { id: d.id }),
        )
      }),
      ' ',
      d.disabled
        ? button(
            at('enable'),
            'dev-enable',
            () =>
              void act(
                () => api.post(`${path}/enable`),
                () => fill(dt('enabledDone'), { id: d.id }),
              ),
          )
        : button(
            at('disable'),
            'dev-disable',
            () =>
              void act(
                () => api.post(`${path}/disable`),
                () => fill(dt('disabledDone'), { id: d.id }),
              ),
          ),
      ' ',
      button(dt('place'), 'dev-move', () => startMove(d)),
    )
    tr.append(actions)
    return tr
  }

  /**
   * The open-data flag (issue #22): ticked, the daily export publishes the device; the box shows what the API answered,
   * and goes back, with the reason beside it, when the change is refused or the API cannot be reached.
   */
  function publicCell(d: Device): HTMLTableCellElement {
    const td = el('td', { className: 'dev-public' })
    td.dataset['label'] = dt('colPublic')
    const label = el('label', { className: 'dev-public-toggle' })
    const box = el('input')
    box.type = 'checkbox'
    box.setAttribute('role', 'switch')
    box.checked = d.public !== false
    box.setAttribute('aria-label', fill(dt('publicOf'), { id: d.id }))
    const error = el('span', { className: 'log-error dev-public-error' })
    error.setAttribute('role', 'alert')
    error.hidden = true
    // Not disabled while the answer is awaited: a disabled box loses the keyboard's focus.
    box.addEventListener('click', (e) => box.getAttribute('aria-busy') === 'true' && e.preventDefault())
    box.addEventListener('change', () => void setPublic(d.id, box, error))
    label.append(box, ' ', el('span', { text: dt('public') }))
    td.append(label, ' ', error)
    return td
  }

  async function setPublic(id: string, box: HTMLInputElement, error: HTMLElement): Promise<void> {
    const wanted = box.checked
    box.setAttribute('aria-busy', 'true')
    error.hidden = true
    try {
      const saved = await api.post<Device>(`/admin/devices/${encodeURIComponent(id)}/public`, { public: wanted })
      devices = devices.map((d) => (d.id === saved.id ? saved : d))
      box.checked = saved.public !== false
      notify(fill(dt(box.checked ? 'publishedDone' : 'unpublishedDone'), { id }))
      o.changed()
    } catch (err) {
      box.checked = !wanted
      error.textContent = fill(at('refused'), { why: err instanceof Refusal ? err.text : dt('unreachable') })
      error.hidden = false
    } finally {
      box.removeAttribute('aria-busy')
    }
    box.closest('tr')!.dataset['public'] = String(box.checked)
    // the list was redrawn meanwhile (a search, a reload) from what was known before the answer
    if (!box.isConnected) render()
  }

  function startMove(d: Device): void {
    moving = d.id
    $('dev-move').hidden = false
    $('dev-move-heading').textContent = fill(dt('moveHeading'), { id: d.id })
    $<HTMLInputElement>('dev-move-lat').value = String(d.lat)
    $<HTMLInputElement>('dev-move-lon').value = String(d.lon)
    $('dev-move-error').hidden = true
    map.show(d.lat, d.lon)
    $('dev-map').scrollIntoView({ block: 'nearest' })
    $('dev-move-lat').focus()
  }
  function endMove(): void {
    moving = undefined
    $('dev-move').hidden = true
  }
  $<HTMLFormElement>('dev-move').addEventListener('submit', (e) => {
    e.preventDefault()
    const id = moving
    if (!id) return
    const lat = Number($<HTMLInputElement>('dev-move-lat').value)
    const lon = Number($<HTMLInputElement>('dev-move-lon').value)
    void act(
      () => api.send('PATCH', `/admin/devices/${encodeURIComponent(id)}`, JSON.stringify({ lat, lon }), 'application/json'),
      () => fill(dt('moved'), { id, lat, lon }),
      $('dev-move-error'),
    ).then((ok) => ok && endMove())
  })
  $('dev-move-cancel').addEventListener('click', endMove)

  function render(): void {
    const q = fold($<HTMLInputElement>('dev-search').value.trim())
    const shown = q === '' ? devices : devices.filter((d) => [d.id, d.nameVi, d.nameEn].some((s) => fold(s).includes(q)))
    rows.replaceChildren(...shown.map(row))
    if (shown.length === 0) {
      const td = el('td', { text: dt('noMatch') })
      td.colSpan = 8
      const tr = el('tr')
      tr.append(td)
      rows.append(tr)
    }
    $('dev-count').textContent = fill(dt('count'), { n: shown.length, total: devices.length })
    for (const e of document.querySelectorAll<HTMLElement>('[data-dt]')) e.textContent = dt(e.dataset['dt'] as DeviceKey)
    fillSelect(
      input('kind') as HTMLSelectElement,
      deviceKinds.map((k) => [k, tx(`kind_${k}`)]),
    )
    fillSelect(
      input('ward') as HTMLSelectElement,
      wards.map((w) => [w, wardNames[w][getLang()]]),
    )
    fillSelect(input('waterBody') as HTMLSelectElement, [
      ['river', dt('river')],
      ['canal', dt('canal')],
    ])
    kindFields()
  }

  function fillSelect(select: HTMLSelectElement, items: [string, string][]): void {
    const keep = select.value || items[0]![0]
    select.replaceChildren(...items.map(([v, text]) => option(v, text, v === keep)))
  }

  /** waterBody for water-level gauges only, road for traffic counters only (DeviceRecord's rule). */
  function kindFields(): void {
    const kind = input('kind').value as DeviceKind
    $('dev-water-body').hidden = kind !== 'water_level'
    $('dev-road').hidden = kind !== 'traffic'
  }
  input('kind').addEventListener('change', kindFields)
  $('dev-search').addEventListener('input', render)
  for (const n of ['lat', 'lon']) input(n).addEventListener('change', () => map.show(Number(input('lat').value), Number(input('lon').value)))

  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const error = $('dev-create-error')
    error.hidden = true
    const v = (n: string) => input(n).value.trim()
    const kind = v('kind') as DeviceKind
    const num = (n: string) => (v(n) === '' ? undefined : Number(v(n)))
    const record = {
      id: v('id'),
      kind,
      nameVi: v('nameVi'),
      nameEn: v('nameEn'),
      ward: v('ward'),
      lat: num('lat'),
      lon: num('lon'),
      intervalS: num('intervalS'),
      batteryPowered: (input('batteryPowered') as HTMLInputElement).checked,
      locationConfidence: v('locationConfidence'),
      ...(kind === 'water_level' ? { waterBody: v('waterBody') } : {}),
      ...(kind === 'traffic' && v('road') !== '' ? { road: v('road') } : {}),
    }
    const submit = $<HTMLButtonElement>('dev-create-submit')
    submit.disabled = true
    void act(
      async () => {
        const s = await api.post<Secret>('/admin/devices', record)
        showSecrets(secretHost, await brokerNow(), [{ ...s, kind }])
      },
      () => fill(dt('provisioned'), { id: record.id }),
      error,
    ).then((ok) => {
      submit.disabled = false
      if (ok) form.reset()
      kindFields()
    })
  })

  /** After an import: the list with the new devices, and their secrets shown once (the kind from the list, for the test line). */
  async function imported(created: Secret[]): Promise<void> {
    o.changed()
    await load()
    if (created.length === 0) return
    const kinds = new Map(devices.map((d) => [d.id, d.kind]))
    showSecrets(
      secretHost,
      await brokerNow(),
      created.map((c) => ({ ...c, kind: kinds.get(c.deviceId) ?? 'water_level' })),
      dt('importSecrets'),
    )
  }

  return { load, render, imported, resize: map.resize }
}
export type DevicesSection = ReturnType<typeof createDevicesSection>
