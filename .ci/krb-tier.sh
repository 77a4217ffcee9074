#!/usr/bin/env bash
# The Kerberos tier: internal/krb5 against real MIT Kerberos. MIT's kinit
# and kvno use the in-memory KDC over loopback; the Kerberos client gets
# tickets from a real MIT KDC that the tests create in a temporary
# directory; and the AP exchange, MIC and Wrap tokens run both ways with
# MIT's GSSAPI through python3-gssapi. Installs what is missing (Debian,
# as root) and runs the tests with GOSSPI_REQUIRE_TIERS=1, so a missing
# tool fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
missing=()
command -v kinit >/dev/null 2>&1 || missing+=(krb5-user)
[ -x /usr/sbin/krb5kdc ] && [ -x /usr/sbin/kdb5_util ] || missing+=(krb5-kdc)
[ -x /usr/sbin/kadmin.local ] || missing+=(krb5-admin-server)
/usr/bin/python3 -c 'import gssapi' >/dev/null 2>&1 || missing+=(python3-gssapi)
if [ "${#missing[@]}" -gt 0 ]; then
	apt-get update
	# krb5-config asks for a default realm; the tests bring their own.
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y "${missing[@]}"
fi
klist -V
GOSSPI_REQUIRE_TIERS=1 go test -count=1 -run '^TestMIT' -v ./internal/krb5/kdc/
