#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, only when one is missing (idempotent).
set -euo pipefail
# prometheus: only for promtool (the alert rules' test); ~100 MB and ~20 s with its dependencies (25 packages, mostly
# javascript for its web UI, measured on Debian 12). Its postinst enables prometheus.service; the policy-rc.d below
# keeps apt from starting it.
packages=(iproute2 procps frr unbound freeradius freeradius-utils syslog-ng-core squid dnsutils ndisc6 iputils-arping iputils-ping libcap2-bin util-linux openssl libndp-tools python3 perl-base systemd
  lintian adduser prometheus bird2 exabgp)
binaries=(ip pkill /usr/lib/frr/zebra /usr/lib/frr/ospfd /usr/lib/frr/ospf6d /usr/lib/frr/bgpd /usr/lib/frr/bfdd vtysh unbound freeradius radclient syslog-ng squid dig ndisc6 arping ping setpriv capsh openssl ndptool python3 perl systemd-analyze
  lintian adduser promtool /usr/sbin/bird /usr/sbin/exabgp)
missing=0
for bin in "${binaries[@]}"; do
  if [[ "$bin" == /* ]]; then [[ -x "$bin" ]] || missing=1; else command -v "$bin" >/dev/null 2>&1 || missing=1; fi
done
if [[ $missing -eq 0 ]]; then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then
  echo "healthcast: system packages are missing and this is not root; install: ${packages[*]}" >&2
  exit 1
fi
# Never let apt start the distro's own daemons on a machine with systemd (bird2 and exabgp ship enabled units and init
# scripts: with this in place their postinst says "policy-rc.d denied execution of start", checked on Debian 12).
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
# Daemons installed here only for their tools or for tests: their units stay disabled, so a reboot starts none of them.
# Only those this run installs (an operator's own prometheus or bird stays as it was).
daemon_units=(prometheus.service bird.service exabgp.service)
daemon_packages=(prometheus bird2 exabgp)
newly=()
for i in "${!daemon_packages[@]}"; do
  dpkg -s "${daemon_packages[$i]}" >/dev/null 2>&1 || newly+=("${daemon_units[$i]}")
done
echo "healthcast: installing Debian packages: ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
for unit in "${newly[@]}"; do
  # update-rc.d disables both the init script and the systemd unit (checked on Debian 12, with and without systemd).
  if command -v update-rc.d >/dev/null 2>&1 && [[ -e "/etc/init.d/${unit%.service}" ]]; then update-rc.d "${unit%.service}" disable >/dev/null 2>&1 || true; fi
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --quiet "$unit" >/dev/null 2>&1 || true; fi
done
if [[ "${created_policy:-0}" -eq 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
