import { getLang } from './index.ts'

/** Replay on the map (issue #21): Vietnamese first, the operations room's words. */
const vi = {
  open: 'Xem lại',
  openTitle: 'Xem lại diễn biến của cả thành phố trên bản đồ',
  heading: 'Xem lại',
  period: 'Khoảng thời gian',
  last6h: '6 giờ qua',
  last24h: '24 giờ qua',
  last7d: '7 ngày qua',
  range: 'Chọn ngày giờ…',
  from: 'Từ (giờ VN)',
  to: 'Đến (giờ VN)',
  show: 'Xem',
  badRange: 'Khoảng thời gian không hợp lệ: “Từ” phải trước “Đến”, trong 30 ngày qua',
  play: 'Phát',
  pause: 'Tạm dừng',
  speed: 'Tốc độ',
  slider: 'Thời điểm đang xem lại',
  banner: 'Đang xem lại {t}',
  backToLive: 'Quay về trực tiếp',
  pill: 'Đang xem lại',
  pillTitle: 'Bản đồ đang hiển thị quá khứ, không phải số liệu trực tiếp',
  loading: 'Đang tải…',
  buffering: 'Đang tải tiếp…',
  error: 'Không tải được số liệu xem lại',
  res_raw: 'từng số đo',
  res_5m: 'trung bình 5 phút',
  timeZone: 'giờ Việt Nam (UTC+7)',
}
export type ReplayKey = keyof typeof vi

const en: Record<ReplayKey, string> = {
  open: 'Replay',
  openTitle: 'Replay how the whole city unfolded on the map',
  heading: 'Replay',
  period: 'Period',
  last6h: 'Last 6 h',
  last24h: 'Last 24 h',
  last7d: 'Last 7 days',
  range: 'Dates…',
  from: 'From (Vietnam time)',
  to: 'To (Vietnam time)',
  show: 'Show',
  badRange: 'Invalid period: “From” must be before “To”, within the last 30 days',
  play: 'Play',
  pause: 'Pause',
  speed: 'Speed',
  slider: 'Instant being replayed',
  banner: 'Replaying {t}',
  backToLive: 'Back to live',
  pill: 'Replaying',
  pillTitle: 'The map shows the past, not live data',
  loading: 'Loading…',
  buffering: 'Loading more…',
  error: 'Could not load the replay',
  res_raw: 'every reading',
  res_5m: '5-minute means',
  timeZone: 'Vietnam time (UTC+7)',
}

/** A replay text in the chosen language (the map's language choice, shared). */
export const rt = (key: ReplayKey): string => (getLang() === 'vi' ? vi : en)[key]
