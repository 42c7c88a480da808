import { metricUnits, wardNames, type DeviceRegistry, type IncidentChange } from '@mytho/schema'

export type Language = 'vi' | 'en'

const words = {
  vi: {
    raised: 'CẢNH BÁO MỚI',
    escalated: 'TĂNG MỨC',
    deescalated: 'GIẢM MỨC',
    cleared: 'ĐÃ HẾT',
    reminded: 'NHẮC LẠI (chưa xác nhận)',
    acknowledged: 'ĐÃ XÁC NHẬN',
    closed: 'ĐÃ ĐÓNG',
    reopened: 'MỞ LẠI',
    value: 'Giá trị',
    at: 'Lúc',
    device: 'Thiết bị',
    severity: { info: 'thông tin', warning: 'cảnh báo', critical: 'nghiêm trọng' },
  },
  en: {
    raised: 'NEW ALERT',
    escalated: 'ESCALATED',
    deescalated: 'DE-ESCALATED',
    cleared: 'CLEARED',
    reminded: 'REMINDER (unacknowledged)',
    acknowledged: 'ACKNOWLEDGED',
    closed: 'CLOSED',
    reopened: 'REOPENED',
    value: 'Value',
    at: 'At',
    device: 'Device',
    severity: { info: 'info', warning: 'warning', critical: 'critical' },
  },
} as const

/** Times in messages are Mỹ Tho local time (UTC+7), as operators read them. */
const localTime = (ms: number, lang: Language) =>
  `${new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { timeZone: 'Asia/Ho_Chi_Minh', dateStyle: 'short', timeStyle: 'short' }).format(new Date(ms))} (UTC+7)`

/** A short plain-text message for a chat or SMS gateway. */
export function formatIncidentMessage(change: IncidentChange, lang: Language, registry?: DeviceRegistry): string {
  const w = words[lang]
  const inc = change.incident
  const names = inc.deviceIds.map((id) => {
    const d = registry?.get(id)
    return d ? (lang === 'vi' ? d.nameVi : d.nameEn) : id
  })
  return [
    `[${w[change.event.type]}] ${inc.title[lang]} (${w.severity[inc.severity]})`,
    `${w.device}: ${names.join(', ') || inc.subject}`,
    ...(change.event.value !== null && inc.metric ? [`${w.value}: ${change.event.value} (${inc.metric})`] : []),
    `${w.at}: ${localTime(change.event.at, lang)}`,
  ].join('\n')
}

const zaloWords = {
  ...words.vi,
  reminded: 'NHẮC LẠI: chưa ai xác nhận',
  ward: 'Phường',
  level: 'Mức',
  peak: 'cao nhất',
  by: 'Người xác nhận',
  note: 'Ghi chú',
  action: 'Cần làm',
  map: 'Bản đồ',
}

/** Vietnamese decimals (0,25 g/L), as operators write them. */
const viNumber = new Intl.NumberFormat('vi-VN', { maximumFractionDigits: 2 })
const viTime = new Intl.DateTimeFormat('vi-VN', {
  timeZone: 'Asia/Ho_Chi_Minh',
  hour: '2-digit',
  minute: '2-digit',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hourCycle: 'h23',
})

const withUnit = (value: number, metric: string | null): string => {
  const unit = metric ? (metricUnits as Record<string, string>)[metric] : undefined
  return unit ? `${viNumber.format(value)} ${unit}` : viNumber.format(value)
}

/**
 * Where the map link of a message leads: the platform's own map centred on the device and with it selected (the
 * hash of web/src/deeplink.ts) when the map's public address is known, else the spot on OpenStreetMap.
 */
export function incidentMapLink(lat: number, lon: number, deviceId: string, mapUrl?: string): string {
  const la = lat.toFixed(5)
  const lo = lon.toFixed(5)
  if (mapUrl) return `${mapUrl.replace(/#.*$/, '')}#lat=${la}&lon=${lo}&z=17&d=${encodeURIComponent(deviceId)}`
  return `https://www.openstreetmap.org/?mlat=${la}&mlon=${lo}#map=17/${la}/${lo}`
}

/**
 * The Zalo message: Vietnamese only (Zalo is what operators in Việt Nam read on their phones), plain text (the OA
 * text message has no markup), the ward and the map link so whoever is on call knows where to go.
 * `ward`/`action` of incidents stored before they were kept are null: the ward then comes from the registry.
 */
export function formatZaloMessage(change: IncidentChange, o: { registry?: DeviceRegistry; mapUrl?: string } = {}): string {
  const w = zaloWords
  const inc = change.incident
  const ev = change.event
  const devices = inc.deviceIds.map((id) => ({ id, d: o.registry?.get(id) }))
  const first = devices[0]
  const wardId = (inc as { ward?: string | null }).ward ?? first?.d?.ward ?? null
  const ward = wardId ? ((wardNames as Record<string, { vi: string } | undefined>)[wardId]?.vi ?? wardId) : null
  const action = (inc as { action?: { vi: string } | null }).action ?? null
  const value = ev.value ?? inc.lastValue
  const level = ev.level > 0 ? ev.level : inc.peakLevel
  return [
    `[${w[ev.type]}] ${inc.title.vi}`,
    `${w.device}: ${devices.map((x) => x.d?.nameVi ?? x.id).join(', ') || inc.subject}`,
    ...(ward ? [`${w.ward}: ${ward.replace(/^Phường /, '')}`] : []),
    `${w.level}: ${w.severity[inc.severity]} (cấp ${level})`,
    ...(value !== null
      ? [
          `${w.value}: ${withUnit(value, inc.metric)}${inc.peakValue !== null && inc.peakValue !== value ? ` (${w.peak} ${withUnit(inc.peakValue, inc.metric)})` : ''}`,
        ]
      : []),
    `${w.at}: ${viTime.format(new Date(ev.at))} (giờ Việt Nam)`,
    ...(ev.type === 'acknowledged' && ev.by ? [`${w.by}: ${ev.by}${ev.note ? ` (${w.note}: ${ev.note})` : ''}`] : []),
    ...(action && ev.type !== 'cleared' && ev.type !== 'closed' ? [`${w.action}: ${action.vi}`] : []),
    ...(first?.d ? [`${w.map}: ${incidentMapLink(first.d.lat, first.d.lon, first.id, o.mapUrl)}`] : []),
  ].join('\n')
}
