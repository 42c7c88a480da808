import type { RejectReason } from './rejection.ts'

/*
 * Each dead-letter reason in the operations room's words, with what fixes it, Vietnamese first (issue #18). Kept
 * beside the reason list and free of zod, so the dead-letter page bundles it without the schemas.
 */
export interface ReasonWords {
  /** What went wrong, as an operator says it. */
  what: string
  /** Who does what to fix it. */
  fix: string
}

export const rejectReasonWords: Record<RejectReason, { vi: ReasonWords; en: ReasonWords }> = {
  bad_topic: {
    vi: { what: 'Gửi sai chủ đề MQTT', fix: 'cấu hình thiết bị gửi vào mytho/v1/devices/{mã}/readings (kỹ thuật lắp đặt)' },
    en: { what: 'Sent to the wrong MQTT topic', fix: 'set the device to publish to mytho/v1/devices/{id}/readings (installer)' },
  },
  oversized: {
    vi: { what: 'Bản tin quá lớn', fix: 'gửi ít số đo hơn mỗi bản tin (tối đa 500) hoặc bỏ trường thừa (kỹ thuật lắp đặt)' },
    en: { what: 'Message too large', fix: 'send fewer readings per message (500 at most) or drop extra fields (installer)' },
  },
  not_utf8: {
    vi: { what: 'Dữ liệu không phải văn bản UTF-8', fix: 'sửa phần mềm thiết bị để gửi JSON mã hoá UTF-8 (kỹ thuật lắp đặt)' },
    en: { what: 'Payload is not UTF-8 text', fix: 'fix the device firmware to send UTF-8 JSON (installer)' },
  },
  not_json: {
    vi: { what: 'Dữ liệu không phải JSON', fix: 'sửa phần mềm thiết bị để gửi đúng định dạng JSON (kỹ thuật lắp đặt)' },
    en: { what: 'Payload is not JSON', fix: 'fix the device firmware to send well-formed JSON (installer)' },
  },
  non_finite: {
    vi: { what: 'Giá trị NaN hoặc vô cực (cảm biến lỗi)', fix: 'kiểm tra cảm biến tại hiện trường (kỹ thuật lắp đặt)' },
    en: { what: 'NaN or infinite value (sensor fault)', fix: 'check the sensor on site (installer)' },
  },
  invalid_reading: {
    vi: {
      what: 'Số đo sai cấu trúc (thiếu hoặc thừa trường, sai kiểu)',
      fix: 'đối chiếu với hợp đồng thiết bị (docs/device-contract.md) và sửa phần mềm thiết bị',
    },
    en: {
      what: 'Reading has the wrong shape (missing or extra fields, wrong type)',
      fix: 'compare with the device contract (docs/device-contract.md) and fix the firmware',
    },
  },
  out_of_range: {
    vi: { what: 'Giá trị ngoài dải đo của cảm biến', fix: 'kiểm tra, hiệu chỉnh cảm biến tại hiện trường (kỹ thuật lắp đặt)' },
    en: { what: 'Value outside the sensor range', fix: 'check and calibrate the sensor on site (installer)' },
  },
  unknown_device: {
    vi: { what: 'Thiết bị chưa được đăng ký', fix: 'đăng ký thiết bị (quản trị), rồi bấm “Gửi lại”' },
    en: { what: 'Device not registered', fix: 'provision the device (admin), then press “Re-drive”' },
  },
  kind_mismatch: {
    vi: { what: 'Loại số đo khác loại thiết bị đã đăng ký', fix: 'sửa loại thiết bị trong danh mục (quản trị) hoặc cấu hình thiết bị' },
    en: { what: 'Reading kind differs from the registered device kind', fix: 'correct the device kind in the registry (admin) or the device setup' },
  },
  not_gateway: {
    vi: { what: 'Gửi thay cho thiết bị không thuộc cổng (gateway) này', fix: 'đăng ký thiết bị sau đúng cổng (quản trị) hoặc sửa cấu hình cổng' },
    en: { what: 'Sent for a device not behind this gateway', fix: 'register the device behind this gateway (admin) or fix the gateway setup' },
  },
  future_timestamp: {
    vi: { what: 'Giờ của thiết bị chạy nhanh (thời điểm ở tương lai)', fix: 'chỉnh đồng hồ thiết bị (NTP) (kỹ thuật lắp đặt)' },
    en: { what: 'Device clock ahead (timestamp in the future)', fix: 'set the device clock (NTP) (installer)' },
  },
  storage_rejected: {
    vi: { what: 'Kho dữ liệu từ chối số đo', fix: 'báo bộ phận CNTT kiểm tra kho dữ liệu (tên trường trùng kiểu khác)' },
    en: { what: 'Storage refused the reading', fix: 'ask IT to check the store (a field stored with another type)' },
  },
}
