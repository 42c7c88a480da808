import { Router } from 'express'
import { requireRole } from '../auth/session.ts'
import { HttpError } from '../http-errors.ts'
import { MQTT_CA_DOWNLOAD_NAME } from '../mqtt-ca.ts'

/**
 * The CA certificate installers' devices trust for the broker's TLS (MQTT_PUBLIC_CA), for the admin page's download
 * link beside the mosquitto_pub line. Public by nature, but it names the city's private CA: operators and admins, the
 * people who set devices up, as with the rest of the device tooling.
 */
export function mqttCaRouter(pem: string | undefined): Router {
  const r = Router()
  r.get('/mqtt-ca.pem', requireRole('operator'), (_req, res) => {
    if (pem === undefined)
      throw new HttpError(404, 'no CA certificate for MQTT over TLS is configured (MQTT_PUBLIC_CA_FILE); devices trust the system authorities')
    // attachment() first: it would set the type from .pem (x509-ca-cert, which a browser may offer to install as a
    // trusted root for every web site) — this is a file for the installer's kit, not the browser's trust store.
    res.attachment(MQTT_CA_DOWNLOAD_NAME).type('application/x-pem-file').set('cache-control', 'no-cache').send(pem)
  })
  return r
}
