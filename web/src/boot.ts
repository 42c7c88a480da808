/*
 * The page's entry. Loading and running the map's code (Leaflet, panels: ~300 kB) is most of the first render;
 * the live link does not wait for it. Opened here, its handshake carries the view the map is about to show
 * (early-view.ts), so the API builds and sends the first snapshot while the map sets up (issue #4).
 */
import 'leaflet/dist/leaflet.css'
import 'uplot/dist/uPlot.min.css'
import './styles.css'
import { estimateView } from './early-view.ts'
import { openEarlyLink } from './live-client.ts'

/** Longest wait for the handshake to leave before the map's code takes the main thread, ms. */
const HANDSHAKE_WAIT_MS = 100

performance.mark('mytho:boot')
// a phone opens on the map, the operations-room screen with the panel: decided before the map is measured
if (window.matchMedia('(max-width: 720px)').matches) document.body.classList.remove('panel-open')
const mapEl = document.getElementById('map')!
const link = openEarlyLink(estimateView(location.hash, mapEl.clientWidth, mapEl.clientHeight))
// The handshake is sent from the task that handles the server's first packet; run the map's code (one long task)
// after it, not before. The map's code is preloaded meanwhile (vite.config.ts).
await link.sent(HANDSHAKE_WAIT_MS)
await import('./main.ts')
