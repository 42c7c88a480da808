import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

export interface TestCertificate {
  /** PEM certificate file. */
  cert: string
  /** PEM private key file beside it. */
  key: string
}

/**
 * A self-signed EC P-256 certificate made by the real openssl (as deploy/make-secrets.sh makes the platform's), for
 * the TLS tests: `<name>.pem` and `<name>.key` in `dir`. `san` is openssl's subjectAltName list
 * (`IP:127.0.0.1,DNS:localhost`); `ca` marks it a CA (basicConstraints CA:TRUE), as a private CA devices trust.
 */
export function makeTestCertificate(dir: string, opts: { name?: string; cn: string; san?: string; ca?: boolean; days?: number }): TestCertificate {
  const name = opts.name ?? 'cert'
  const cert = join(dir, `${name}.pem`)
  const key = join(dir, `${name}.key`)
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      String(opts.days ?? 1),
      '-subj',
      `/CN=${opts.cn}`,
      ...(opts.san !== undefined ? ['-addext', `subjectAltName=${opts.san}`] : []),
      ...(opts.ca ? ['-addext', 'basicConstraints=critical,CA:TRUE'] : []),
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'pipe' },
  )
  return { cert, key }
}
