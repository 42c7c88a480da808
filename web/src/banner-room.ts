/** Space kept between the banners' foot and a popup's top, px. */
const GAP_PX = 8

/**
 * How far below the map's top edge a popup must stay to be clear of the banners lying over it (index.html's .banners:
 * live, an open alarm, the pipeline's health or the link's state; while replaying, the replay banner above them), from
 * their real height, which wraps to more lines on a phone; 0 when none is shown there (a phone's open panel moves them
 * to the screen's foot).
 */
export function bannersRoom(map: HTMLElement): number {
  const box = document.querySelector('.banners')
  if (!box) return 0
  const b = box.getBoundingClientRect()
  const m = map.getBoundingClientRect()
  if (b.height === 0 || b.top > m.top + m.height / 2) return 0
  return Math.max(0, Math.ceil(b.bottom - m.top) + GAP_PX)
}
