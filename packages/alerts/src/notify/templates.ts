import type { DeviceRegistry, IncidentChange } from '@mytho/schema'

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
