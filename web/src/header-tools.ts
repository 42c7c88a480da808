import { $ } from './dom.ts'

/*
 * On a phone the header's tools (account and sign-out, sound, notifications, the page links, language) do not fit
 * beside the title and the connection status: 780–1,090 px of them at 390 px, which used to scroll sideways out of
 * sight with no cue. There they sit behind "⋯ Thêm", a list under the bar (styles.css, max-width 720px); on a wider
 * screen the button is hidden and the tools stay in the bar. This opens and closes that list.
 */
export function createHeaderToolsMenu(): void {
  const bar = $('header-tools').closest<HTMLElement>('.topbar')!
  const more = $('header-more')
  const isOpen = () => bar.classList.contains('tools-open')
  const setOpen = (open: boolean) => {
    bar.classList.toggle('tools-open', open)
    more.setAttribute('aria-expanded', String(open))
  }
  more.addEventListener('click', () => setOpen(!isOpen()))
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || !isOpen()) return
    setOpen(false)
    more.focus()
  })
  // A tap anywhere else (the map, the panel) puts the list away, as a menu does.
  document.addEventListener('pointerdown', (e) => {
    if (isOpen() && !bar.contains(e.target as Node)) setOpen(false)
  })
}
