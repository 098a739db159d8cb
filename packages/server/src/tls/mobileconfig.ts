import { createHash, X509Certificate } from 'node:crypto';

/*
 * An Apple configuration profile (.mobileconfig) that installs the imv CA as a trusted root on
 * iOS/iPadOS/macOS: one com.apple.security.root payload, see
 * https://developer.apple.com/documentation/devicemanagement/certificateroot
 * After installing, iOS still asks the user to switch the root on under Settings > General >
 * About > Certificate Trust Settings (support.apple.com/HT204477).
 */

export interface MobileConfigOptions {
  /** Shown by iOS as the profile name, e.g. "imv on kitchen-pc". */
  name: string;
  /** Reverse-DNS prefix of the payload identifiers. Default 'lan.imv'. */
  identifierPrefix?: string;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A UUID that is the same for the same CA and label, so re-downloading replaces the profile instead of adding one. */
function stableUuid(caDer: Uint8Array, label: string): string {
  const h = createHash('sha256').update(caDer).update(label).digest();
  h[6] = (h[6]! & 0x0f) | 0x80; // RFC 9562 §5.8: version 8, custom
  h[8] = (h[8]! & 0x3f) | 0x80; // variant 10
  const hex = h.subarray(0, 16).toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The .mobileconfig XML plist installing `caCertPem` as a root (serve as application/x-apple-aspen-config). */
export function buildMobileConfig(caCertPem: string, options: MobileConfigOptions): string {
  const caDer = new X509Certificate(caCertPem).raw;
  const prefix = options.identifierPrefix ?? 'lan.imv';
  const profileUuid = stableUuid(caDer, 'profile');
  const rootUuid = stableUuid(caDer, 'root');
  const name = escapeXml(options.name);
  // plist <data> is base64; Apple's own profiles wrap it, but one line parses the same.
  const data = caDer.toString('base64');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>PayloadContent</key>
  <array>
    <dict>
      <key>PayloadCertificateFileName</key>
      <string>imv-ca.crt</string>
      <key>PayloadContent</key>
      <data>${data}</data>
      <key>PayloadDescription</key>
      <string>Trusts the certificate authority of the imv server so its https page opens without warnings.</string>
      <key>PayloadDisplayName</key>
      <string>${name} CA</string>
      <key>PayloadIdentifier</key>
      <string>${prefix}.root.${rootUuid}</string>
      <key>PayloadType</key>
      <string>com.apple.security.root</string>
      <key>PayloadUUID</key>
      <string>${rootUuid}</string>
      <key>PayloadVersion</key>
      <integer>1</integer>
    </dict>
  </array>
  <key>PayloadDescription</key>
  <string>Lets this device open the imv voice server over https on the local network.</string>
  <key>PayloadDisplayName</key>
  <string>${name}</string>
  <key>PayloadIdentifier</key>
  <string>${prefix}.profile.${profileUuid}</string>
  <key>PayloadRemovalDisallowed</key>
  <false/>
  <key>PayloadType</key>
  <string>Configuration</string>
  <key>PayloadUUID</key>
  <string>${profileUuid}</string>
  <key>PayloadVersion</key>
  <integer>1</integer>
</dict>
</plist>
`;
}
