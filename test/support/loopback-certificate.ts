import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';
import { tempDir } from './local-services';

/** A certificate a loopback HTTPS server presents, and the file a client process trusts it through. */
export interface LoopbackCertificate {
  key: string;
  cert: string;
  /** The certificate as a PEM file, for `NODE_EXTRA_CA_CERTS` (which Node reads at start-up). */
  caFile: string;
}

/**
 * A self-signed certificate for 127.0.0.1 and `hostnames`, valid for a day: what production trusts through a
 * public CA, a test's host process trusts through `NODE_EXTRA_CA_CERTS`, so TLS is verified as it would be.
 */
export async function loopbackCertificate(hostnames: string[] = []): Promise<LoopbackCertificate> {
  const certificate = await generate([{ name: 'commonName', value: hostnames[0] ?? '127.0.0.1' }], {
    keyType: 'ec',
    notAfterDate: new Date(Date.now() + 24 * 3_600_000),
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          ...hostnames.map((hostname) => ({ type: 2 as const, value: hostname })),
        ],
      },
    ],
  });
  const caFile = path.join(tempDir('certificate'), 'ca.pem');
  writeFileSync(caFile, certificate.cert);
  return { key: certificate.private, cert: certificate.cert, caFile };
}
