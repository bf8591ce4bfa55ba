// The texts of the Debian package's metadata, from package.json and the build's facts. Pure.

export const PACKAGE = 'healthcast';
export const MAINTAINER = 'healthcast maintainers <healthcast@example.org>';

// What the agent runs (docs/operations.md, "The Debian package"): node >= 20.19 (package.json engines; Debian 12 has
// 18, Debian 13 and NodeSource have 20+), `ip` for every address and route, adduser for the system user when
// systemd-sysusers is absent. perl (the sd_notify helper) and coreutils (`env -S` in the shebang) are Essential.
export const DEPENDS = ['nodejs (>= 20.19)', 'iproute2', 'adduser'];
// FRR turns the addresses into advertisements; without it healthcast only manages addresses.
export const RECOMMENDS = ['frr'];
// announce_l2 sends gratuitous ARP (arping) and unsolicited neighbour advertisements (ndptool).
export const SUGGESTS = ['iputils-arping', 'libndp-tools'];

export const CONFFILES = ['/etc/healthcast/healthcast.yaml', '/etc/healthcast/services.d/dns.yaml.example'];

export function controlFile(fields: { version: string; installedSizeKiB: number; description: string }): string {
  return [
    `Package: ${PACKAGE}`,
    `Version: ${fields.version}`,
    'Architecture: all',
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${fields.installedSizeKiB}`,
    `Depends: ${DEPENDS.join(', ')}`,
    `Recommends: ${RECOMMENDS.join(', ')}`,
    `Suggests: ${SUGGESTS.join(', ')}`,
    'Section: net',
    'Priority: optional',
    `Description: health-probe anycast agent for FRR`,
    ...extendedDescription(fields.description),
    '',
  ].join('\n');
}

function extendedDescription(text: string): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line && line.length + 1 + word.length > 78) {
      lines.push(` ${line}`);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(` ${line}`);
  return lines;
}

export const DESCRIPTION =
  'healthcast runs on every node of an anycast service. It probes each local service the way a client would ' +
  '(DNS, RADIUS, syslog, HTTP proxy, TCP) and keeps the service addresses on the loopback, or as kernel routes, ' +
  "only while the service is healthy; FRR's redistribution turns that into OSPF or BGP advertisements, so routers " +
  'send clients to the nearest healthy node.';

// Debian changelog format; a native package's changelog is /usr/share/doc/PACKAGE/changelog.gz.
export function changelog(version: string, date: Date): string {
  return `${PACKAGE} (${version}) unstable; urgency=medium\n\n  * Built from the healthcast source tree; changes are in its git history.\n\n -- ${MAINTAINER}  ${rfc2822(date)}\n`;
}

function rfc2822(date: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  return `${days[date.getUTCDay()]}, ${two(date.getUTCDate())} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

export interface BundledModule {
  // node_modules/... as in the lockfile
  where: string;
  name: string;
  version: string;
  license: string;
  // The module's own LICENSE file, when it has one.
  licenseText?: string;
}

const MIT = `Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;

// Machine-readable copyright (DEP-5): healthcast itself, then every bundled module with its licence and its own text.
export function copyrightFile(license: string, modules: readonly BundledModule[]): string {
  const indent = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((line) => (line.trim() === '' ? ' .' : ` ${line}`))
      .join('\n');
  const parts = [
    `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: ${PACKAGE}\n`,
    `Files: *\nCopyright: the healthcast authors\nLicense: ${license}\n`,
    ...modules.map(
      (module) =>
        `Files: usr/lib/healthcast/${module.where}/*\nCopyright: the authors of ${module.name} ${module.version}\nLicense: ${module.license}\n` +
        // Apache-2.0's full text is in common-licenses (lintian: copyright-file-contains-full-apache-2-license).
        (module.licenseText && module.license !== 'Apache-2.0' ? `Comment: the module's licence file:\n${indent(module.licenseText)}\n` : ''),
    ),
  ];
  const licenses = new Set([license, ...modules.map((module) => module.license)]);
  for (const name of [...licenses].sort()) {
    if (name === 'MIT') parts.push(`License: MIT\n${indent(MIT)}\n`);
    else if (name === 'Apache-2.0') parts.push('License: Apache-2.0\n On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.\n');
    else parts.push(`License: ${name}\n The text is in the Comment of each module under this licence, above.\n`);
  }
  return parts.join('\n');
}
