import { SALINITY_ALARMS_GL, WATER_LEVEL_ALARMS_CM, PM25_24H_LIMIT_UG_M3, type AlarmStep, type LocalizedText, type Severity } from '@mytho/schema'
import { loadAlertRulesFile, parseAlertRules, type AlertRule, type RuleLevel } from './rules.ts'

/*
 * The recommended actions below are defaults to adapt: general practice for the Vietnamese flood-alarm levels
 * (báo động I watch, II get ready, III act) and for congestion, with the places named in mytho-facts.md §2–§4.
 * The city's own flood and traffic plans were not in the sources; a city writes its plan's words in ALERT_RULES_FILE.
 *
 * The rules a fresh install runs, built from the alarm ladders in @mytho/schema/alarm-levels (one home for
 * the numbers, sourced in ../shared/data/mytho-facts.md). An operator replaces them with ALERT_RULES_FILE.
 * Clear thresholds sit a step below each set threshold, so a value dithering around a line stays one level.
 */

const ladder = (steps: readonly AlarmStep[], severities: Severity[], clearGap: number, actions: LocalizedText[]): RuleLevel[] =>
  steps.map((s, i) => ({
    level: i + 1,
    name: { vi: s.labelVi, en: s.labelEn },
    severity: severities[i] ?? 'critical',
    set: s.min,
    clear: +(s.min - clearGap).toFixed(4),
    ...(actions[i] ? { action: actions[i] } : {}),
  }))

/** BĐ I / II / III (facts §2: the streets that flood first are Hùng Vương, khu phố 2 Phường 10, Ấp Bắc near Trung Lương). */
const FLOOD_ACTIONS: LocalizedText[] = [
  {
    vi: 'Theo dõi sát mực nước và bản tin triều cường; kiểm tra cống, trạm bơm; báo trực ban phường.',
    en: "Watch the level and the tide bulletins; check sluice gates and pumping stations; tell the ward's duty officer.",
  },
  {
    vi: 'Báo Ban chỉ huy phòng chống thiên tai phường; đóng cống ngăn triều; chuẩn bị biển báo, rào chắn ở các đường hay ngập (Hùng Vương, khu phố 2 Phường 10, Ấp Bắc).',
    en: "Alert the ward's disaster-prevention command; close the tide sluices; ready signs and barriers on the streets that flood first (Hùng Vương, khu phố 2 Phường 10, Ấp Bắc).",
  },
  {
    vi: 'Ứng phó khẩn cấp: báo Ban chỉ huy phòng chống thiên tai tỉnh và các phường ven sông; rào chắn, phân luồng đường ngập (ngã tư Hùng Vương, quanh vòng xoay Trung Lương); sẵn sàng di dời người dân vùng trũng.',
    en: 'Emergency response: alert the provincial disaster-prevention command and the riverside wards; close and divert flooded roads (Hùng Vương crossroads, around the Trung Lương roundabout); be ready to move people out of low-lying areas.',
  },
]

/** Facts §4: the drinking-water plant pumps only below 0.25 g/L; the Bảo Định and Gò Công sluices close as salinity rises. */
const SALINITY_ACTIONS: LocalizedText[] = [
  {
    vi: 'Báo nhà máy nước ngưng bơm nước sông vào xử lý; đo lại sau 30 phút.',
    en: 'Tell the water plant to stop pumping river water; measure again in 30 minutes.',
  },
  {
    vi: 'Khuyến cáo không tưới cây ăn trái bằng nước sông; theo dõi vận hành cống Bảo Định.',
    en: 'Advise farmers not to water fruit trees from the river; follow the Bảo Định sluice operation.',
  },
  {
    vi: 'Đề nghị đóng cống Bảo Định, Gò Công theo quy trình; khuyến cáo không lấy nước tưới lúa.',
    en: 'Ask for the Bảo Định and Gò Công sluices to be closed as their procedure says; advise against taking water for rice.',
  },
]

export const defaultAlertRules: AlertRule[] = parseAlertRules(
  {
    rules: [
      {
        id: 'flood',
        type: 'threshold',
        title: { vi: 'Ngập do triều cường / lũ', en: 'Flood (high water)' },
        kinds: ['water_level'],
        metric: 'waterLevelCm',
        direction: 'above',
        // 5 cm of hysteresis: a 5-minute gauge on a turning tide wobbles by a few cm.
        levels: ladder(WATER_LEVEL_ALARMS_CM, ['warning', 'warning', 'critical'], 5, FLOOD_ACTIONS),
        raiseHoldS: 300,
        clearHoldS: 900,
        reminderS: 900,
      },
      {
        id: 'salinity',
        type: 'threshold',
        title: { vi: 'Xâm nhập mặn', en: 'Salinity intrusion' },
        kinds: ['salinity'],
        metric: 'salinityGL',
        direction: 'above',
        // Stopping the drinking-water intake is an action for the water plant, so a warning on the map too, not info.
        levels: ladder(SALINITY_ALARMS_GL, ['warning', 'warning', 'critical'], 0.05, SALINITY_ACTIONS),
        raiseHoldS: 600,
        clearHoldS: 1800,
        reminderS: 3600,
      },
      {
        id: 'pm25',
        type: 'threshold',
        title: { vi: 'Bụi mịn PM2.5 vượt QCVN 05', en: 'PM2.5 above QCVN 05' },
        kinds: ['air_quality'],
        metric: 'pm25UgM3',
        direction: 'above',
        levels: [
          {
            level: 1,
            name: { vi: 'Vượt trung bình 24 giờ', en: 'Above the 24-h limit' },
            severity: 'warning',
            set: PM25_24H_LIMIT_UG_M3,
            clear: PM25_24H_LIMIT_UG_M3 - 5,
            action: {
              vi: 'Khuyến cáo người già, trẻ em, người bệnh hô hấp hạn chế ra ngoài; kiểm tra đốt rơm rạ, công trình gây bụi gần trạm.',
              en: 'Advise the elderly, children and people with breathing problems to stay indoors; look for straw burning or dusty works near the sensor.',
            },
          },
        ],
        // The national limit is a 24-h mean, not an instant value (QCVN 05, facts §4).
        meanOverS: 86_400,
        raiseHoldS: 0,
        clearHoldS: 3600,
      },
      {
        id: 'congestion',
        type: 'condition',
        title: { vi: 'Ùn tắc giao thông', en: 'Traffic congestion' },
        kinds: ['traffic'],
        // Estimates from facts §3 (suggestions, not a measured Mỹ Tho count): free flow 30–70 km/h, peak/congested
        // 10–20, bridge jams 0–10. Clear needs real recovery. Occupancy limits are estimates too.
        levels: [
          {
            level: 1,
            name: { vi: 'Ùn tắc', en: 'Congested' },
            severity: 'warning',
            conditions: [
              { metric: 'avgSpeedKmh', op: 'below', set: 15, clear: 22 },
              { metric: 'occupancyPct', op: 'above', set: 45, clear: 35 },
            ],
            action: {
              vi: 'Xem camera đoạn đường; báo Cảnh sát giao thông khu vực; sẵn sàng phân luồng.',
              en: 'Check the cameras on the road; tell the area traffic police; be ready to divert traffic.',
            },
          },
          {
            level: 2,
            name: { vi: 'Tắc nghẽn nghiêm trọng', en: 'Jammed' },
            severity: 'critical',
            conditions: [
              { metric: 'avgSpeedKmh', op: 'below', set: 10, clear: 15 },
              { metric: 'occupancyPct', op: 'above', set: 60, clear: 50 },
            ],
            action: {
              vi: 'Đề nghị Cảnh sát giao thông điều tiết tại chỗ và phân luồng (QL1 – vòng xoay Trung Lương, QL60 – cầu Rạch Miễu); báo trên loa, bảng điện tử.',
              en: 'Ask the traffic police to direct traffic on site and divert it (QL1 – Trung Lương roundabout, QL60 – Rạch Miễu bridge); announce it on signs and loudspeakers.',
            },
          },
        ],
        match: 'any',
        groupBy: 'road',
        raiseHoldS: 300,
        clearHoldS: 600,
      },
      {
        id: 'low-battery',
        type: 'threshold',
        title: { vi: 'Pin yếu', en: 'Low battery' },
        kinds: ['water_level', 'rain', 'salinity', 'traffic', 'air_quality'],
        metric: 'batteryV',
        direction: 'below',
        // 12 V lead-acid: ~11.8 V is about 20 % left, 11.3 V is close to cut-off.
        levels: [
          {
            level: 1,
            name: { vi: 'Pin yếu', en: 'Battery low' },
            severity: 'info',
            set: 11.8,
            clear: 12.2,
            action: { vi: 'Lên lịch thay hoặc sạc pin trong tuần.', en: 'Schedule a battery change or charge this week.' },
          },
          {
            level: 2,
            name: { vi: 'Pin sắp cạn', en: 'Battery nearly empty' },
            severity: 'warning',
            set: 11.3,
            clear: 11.6,
            action: {
              vi: 'Cử kỹ thuật viên thay pin ngay: thiết bị sắp ngừng gửi số liệu.',
              en: 'Send a technician to change the battery now: the device will soon stop reporting.',
            },
          },
        ],
        raiseHoldS: 600,
        clearHoldS: 1800,
      },
      {
        id: 'device-silent',
        type: 'silent',
        title: { vi: 'Thiết bị mất tín hiệu', en: 'Device silent' },
        kinds: ['water_level', 'rain', 'salinity', 'traffic', 'air_quality'],
        intervalMultiple: 3,
        onLastWill: true,
        severity: 'warning',
        action: {
          vi: 'Kiểm tra nguồn điện và đường truyền của thiết bị; cử kỹ thuật viên nếu thiết bị không tự kết nối lại.',
          en: "Check the device's power and connection; send a technician if it does not come back by itself.",
        },
      },
    ],
  },
  'default alert rules',
)

/**
 * The rule set a service runs: ALERT_RULES_FILE when set, else the built-in rules. The ingest's engine and the API's
 * map judge both take it from here, so a marker and its incident judge alike. A bad file throws AlertRulesError.
 */
export const configuredAlertRules = (file: string | undefined): AlertRule[] => (file ? loadAlertRulesFile(file) : defaultAlertRules)
