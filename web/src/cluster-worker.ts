/* Builds a snapshot's cluster index off the main thread (cluster-index.ts, index-worker.ts). */
import { buildPacked, transferables } from './cluster-index.ts'

export interface IndexRequest {
  id: number
  lon: Float64Array
  lat: Float64Array
  status: Uint8Array
}

self.onmessage = (e: MessageEvent<IndexRequest>) => {
  const { id, lon, lat, status } = e.data
  const packed = buildPacked(lon, lat, status)
  self.postMessage({ id, packed }, { transfer: transferables(packed) })
}
