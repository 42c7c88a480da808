import { X509Certificate } from 'node:crypto'

/** The name the admin page saves the CA certificate under, and the one its mosquitto_pub line's `--cafile` names. */
export const MQTT_CA_DOWNLOAD_NAME = 'mytho-mqtt-ca.pem'

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** The PEM certificate blocks of a file, each checked as X.509; only these are ever served (comments dropped). */
export function pemCertificates(text: string): string[] {
  return [...text.matchAll(CERTIFICATE)].map((m) => m[0])
}

/**
 * Why a text is not a CA certificate fit to hand to every operator, or undefined when it is. The file is served to
 * anyone signed in as operator: a private key in it (key.pem or ca.key named by mistake) would give away the broker's
 * identity or the power to sign certificates, so the start is refused rather than the key served.
 */
export function pemCertificateProblem(text: string): string | undefined {
  const where = '(the file MQTT_PUBLIC_CA_FILE names)'
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
    return `holds a private key ${where}: give the CA's certificate only (deploy/make-secrets.sh: secrets/mqtt-tls/ca.pem), never a key`
  const blocks = pemCertificates(text)
  if (blocks.length === 0) return `expected a PEM certificate (-----BEGIN CERTIFICATE-----) ${where}`
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block)
    } catch {
      return `certificate ${i + 1} of ${blocks.length} is not a valid X.509 certificate ${where}`
    }
  }
  return undefined
}
