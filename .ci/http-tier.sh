#!/usr/bin/env bash
# The HTTP tier: a real curl authenticates against the sspihttp middleware
# served by the fake backend, with NTLM (curl's own) and with Negotiate
# (MIT GSSAPI's SPNEGO over gss-ntlmssp). Installs what is missing
# (Debian, as root) and runs the tests with GOSSPI_REQUIRE_TIERS=1, so a
# missing tool fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
compgen -G '/etc/gss/mech.d/*ntlmssp*' >/dev/null || missing+=(gss-ntlmssp)
if [ "${#missing[@]}" -gt 0 ]; then
	apt-get update
	apt-get -o DPkg::Lock::Timeout=600 install -y "${missing[@]}"
fi
curl --version | head -1
GOSSPI_REQUIRE_TIERS=1 go test -count=1 -run '^TestCurl' -v ./sspihttp/
