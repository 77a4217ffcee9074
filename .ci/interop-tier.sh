#!/usr/bin/env bash
# The live interop tier: holds the fake backend's NTLM, Negotiate and
# Kerberos against real peers on loopback, in both roles
# (internal/interop): MIT krb5's GSSAPI with gss-ntlmssp (driven through
# python3-gssapi), a SPNEGO client with a ticket from a throwaway MIT
# realm (Kerberos offered first), MIT's own Kerberos (kinit and GSSAPI
# with the fake domain's KDC; the fake's client with MIT's KDC and
# acceptor), the same under SPNEGO (the fake's Negotiate must choose
# Kerberos), Samba's ntlm_auth, and curl (--ntlm, --negotiate, and
# --negotiate with a ticket from the fake domain's KDC against the
# sspihttp middleware).
#
#   bash .ci/interop-tier.sh        # from anywhere in the repository, as root on Debian bookworm
#
# It installs what is missing with apt, then runs the tier's tests with
# GOSSPI_REQUIRE_TIERS=1, under which a missing tool fails a test instead
# of skipping it, and prints the matrix of what held against which peer.
# The tests start every peer themselves and give each one its own
# GSS_MECH_CONFIG, KRB5_CONFIG and NTLM_USER_FILE, so the mechanism file
# gss-ntlmssp installs in /etc/gss/mech.d is never read by them.
#
# Environment: GOSSPI_INTEROP_TESTFLAGS (extra go test flags, e.g. "-run MIT -v").
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="/usr/local/go/bin:$PATH"
say() { printf 'interop-tier: %s\n' "$*"; }
die() { say "FAIL: $*" >&2; exit 1; }

# ---------------------------------------------------------------- packages
# python3-gssapi: the GSSAPI peer (run by Debian's /usr/bin/python3);
# gss-ntlmssp: NTLM for MIT GSSAPI; krb5-*: the throwaway realm, kinit
# (also against the fake domain's KDC) and kadmin's keytab;
# winbind: Samba's ntlm_auth; curl: the HTTP client, built with GSS-API.
pkgs=(python3 python3-gssapi gss-ntlmssp krb5-kdc krb5-admin-server krb5-user winbind curl)
missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	say "all packages present, no apt run needed"
else
	[ "$(id -u)" = 0 ] || die "packages missing and not root: install ${missing[*]}"
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -q
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fi
command -v go >/dev/null || die "go is not on PATH"
for p in "${pkgs[@]}"; do
	say "$(dpkg-query -W -f='${Package} ${Version}' "$p")"
done

# ---------------------------------------------------------------- tests
matrix=$(mktemp)
trap 'rm -f "$matrix"' EXIT
status=0
# shellcheck disable=SC2086 # GOSSPI_INTEROP_TESTFLAGS is a list of flags
GOSSPI_REQUIRE_TIERS=1 GOSSPI_INTEROP_MATRIX="$matrix" \
	go test -count=1 ${GOSSPI_INTEROP_TESTFLAGS:-} ./internal/interop/ || status=$?
if [ -s "$matrix" ]; then
	cat "$matrix"
else
	say "the tests wrote no matrix"
	[ "$status" != 0 ] || status=1
fi
[ "$status" = 0 ] || die "the interop tier failed (go test exit status $status)"
say "passed"
