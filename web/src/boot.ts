/*
 * The page's entry. Loading and running the map's code (Leaflet, panels: ~200 kB) is most of the first render;
 * the live link and the sign-in check do not wait for it. Opened here, the link's handshake carries the view the
 * map is about to show (early-view.ts), so the API builds and sends the first snapshot while the map sets up
 * (issue #4); main.ts takes both over (startMap).
 */
import 'leaflet/dist/leaflet.css'
import 'uplot/dist/uPlot.min.css'
import './styles.css'
import { estimateView } from './early-view.ts'
import { openLink } from './live-client.ts'
import { createSession } from './session.ts'

performance.mark('mytho:boot')
/** Who is signing in: asked at once (the API refuses the handshake without a session; the registry names wait for it). */
const session = createSession()
void session.check()
// a phone opens on the map, the operations-room screen with the panel: decided before the map is measured
if (window.matchMedia('(max-width: 720px)').matches) document.body.classList.remove('panel-open')
const mapEl = document.getElementById('map')!
const link = openLink(estimateView(location.hash, mapEl.clientWidth, mapEl.clientHeight))
/** Longest wait for the handshake to leave before the map's code runs, ms. */
const HANDSHAKE_WAIT_MS = 100
// The map's code (preloaded from the page's head, vite.config.ts) runs once the handshake has left: evaluating it
// takes the main thread for tens of ms, and the server's first packet would wait behind it (measured: the handshake
// then left ~50 ms later, after the map's code, and the server built the first snapshot only then).
void link
  .sent(HANDSHAKE_WAIT_MS)
  .then(() => import('./main.ts'))
  .then(({ startMap }) => startMap({ session, link }))
