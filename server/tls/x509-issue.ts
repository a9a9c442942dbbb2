/**
 * Issuing X.509 certificates and CRLs with @peculiar/x509 on Node's WebCrypto: the one place certificates are made,
 * for auto-TLS (self-cert.ts) and for the kit's PKI (`etcdkit pki`, pki/). ECDSA keys only; the hash follows the
 * curve as Go's x509 does (P-256: SHA-256, P-384: SHA-384, P-521: SHA-512). Keys are written as SEC1
 * ("EC PRIVATE KEY"), the form Go's SelfCert writes and every TLS stack reads.
 */
import "reflect-metadata"; // @peculiar/x509's dependency injection needs it loaded first
import * as x509 from "@peculiar/x509";
import { createPrivateKey, randomBytes, webcrypto, type KeyObject } from "node:crypto";
import { isIP } from "node:net";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const subtle = webcrypto.subtle;

export type Curve = "P-256" | "P-384" | "P-521";

const HASH_OF: Record<Curve, string> = { "P-256": "SHA-256", "P-384": "SHA-384", "P-521": "SHA-512" };
const CURVE_OF_OPENSSL: Record<string, Curve> = { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" };

export interface CertificateSpec {
  readonly commonName?: string;
  readonly organization?: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** A CA certificate (keyCertSign, cRLSign) rather than a leaf (digitalSignature, keyEncipherment). */
  readonly isCa: boolean;
  readonly serverAuth: boolean;
  readonly clientAuth: boolean;
  /** Subject alternative names: host names, and IPv4/IPv6 addresses (an entry that parses as an address is one). */
  readonly hosts: readonly string[];
  readonly curve: Curve;
}

/** A certificate and its key, PEM. */
export interface KeyPairPem {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface Issued extends KeyPairPem {
  /** Serial number, lower-case hex without leading zeros (as openssl and Node print it, upper-cased there). */
  readonly serial: string;
}

/** Issues a certificate signed by `issuer` (a CA's certificate and key), or self-signed without one. */
export async function issueCertificate(spec: CertificateSpec, issuer?: KeyPairPem): Promise<Issued> {
  const algorithm = { name: "ECDSA", namedCurve: spec.curve };
  const keys = (await subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
  const signer = issuer ? await importIssuer(issuer) : undefined;
  const serialNumber = randomSerial();
  const name = nameOf(spec);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(spec.isCa, undefined, true),
    new x509.KeyUsagesExtension(
      spec.isCa ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const usages = [...(spec.serverAuth ? [x509.ExtendedKeyUsage.serverAuth] : []), ...(spec.clientAuth ? [x509.ExtendedKeyUsage.clientAuth] : [])];
  if (usages.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(usages));
  if (spec.hosts.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(spec.hosts.map((h) => (isIP(h) ? { type: "ip" as const, value: h } : { type: "dns" as const, value: h }))));
  }
  if (signer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.certificate));
  const common = { serialNumber, notBefore: spec.notBefore, notAfter: spec.notAfter, extensions, signingAlgorithm: { ...algorithm, hash: HASH_OF[signer?.curve ?? spec.curve] } };
  const cert = signer
    ? await x509.X509CertificateGenerator.create({ ...common, subject: name, issuer: signer.certificate.subjectName, publicKey: keys.publicKey, signingKey: signer.key })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name, keys });
  return { certPem: cert.toString("pem") + "\n", keyPem: await sec1Pem(keys.privateKey), serial: serialNumber.replace(/^0+/, "") };
}

/** A CRL signed by `issuer` listing the serials (hex) as revoked. */
export async function issueCrl(issuer: KeyPairPem, revokedSerials: readonly string[], now = new Date()): Promise<string> {
  const signer = await importIssuer(issuer);
  const crl = await x509.X509CrlGenerator.create({
    issuer: signer.certificate.subjectName,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + 30 * 24 * 3600_000),
    signingAlgorithm: { name: "ECDSA", hash: HASH_OF[signer.curve] },
    signingKey: signer.key,
    entries: revokedSerials.map((s) => ({ serialNumber: s, revocationDate: now })),
  });
  // Go's x509.ParseCRL (etcd's --client-crl-file reader) takes PEM only under the "X509 CRL" label, as openssl writes it
  return crl.toString("pem").replace(/-----(BEGIN|END) CRL-----/g, "-----$1 X509 CRL-----") + "\n";
}

/** The serial numbers a CRL (PEM or DER) lists, lower-case hex without leading zeros. */
export function crlSerials(data: Buffer): string[] {
  const text = data.toString("latin1");
  const crl = new x509.X509Crl(text.includes("-----BEGIN") ? text : new Uint8Array(data));
  return crl.entries.map((e) => e.serialNumber.toLowerCase().replace(/^0+/, ""));
}

interface Signer {
  readonly certificate: x509.X509Certificate;
  readonly key: CryptoKey;
  readonly curve: Curve;
}

async function importIssuer(issuer: KeyPairPem): Promise<Signer> {
  const key = createPrivateKey(issuer.keyPem);
  const curve = curveOf(key);
  const pkcs8 = key.export({ type: "pkcs8", format: "der" });
  const signingKey = await subtle.importKey("pkcs8", pkcs8, { name: "ECDSA", namedCurve: curve }, false, ["sign"]);
  return { certificate: new x509.X509Certificate(issuer.certPem), key: signingKey, curve };
}

function curveOf(key: KeyObject): Curve {
  const named = key.asymmetricKeyDetails?.namedCurve ?? "";
  const curve = CURVE_OF_OPENSSL[named];
  if (key.asymmetricKeyType !== "ec" || !curve) throw new Error(`the issuer's key must be ECDSA on P-256, P-384 or P-521 (got ${key.asymmetricKeyType} ${named})`);
  return curve;
}

async function sec1Pem(privateKey: CryptoKey): Promise<string> {
  const pkcs8 = Buffer.from(await subtle.exportKey("pkcs8", privateKey));
  return createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }).export({ type: "sec1", format: "pem" }).toString();
}

/** 128 random bits as etcd's SelfCert, kept positive and of full length (a DER INTEGER with no sign byte). */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x40;
  return b.toString("hex");
}

function nameOf(spec: CertificateSpec): x509.JsonName {
  const name: x509.JsonName = [];
  if (spec.organization) name.push({ O: [spec.organization] });
  if (spec.commonName) name.push({ CN: [spec.commonName] });
  return name;
}
