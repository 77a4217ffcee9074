#!/usr/bin/env bash
# The Wine tier: runs backend/winsspi's tests (its smoke tests and the
# conformance suite) as GOOS=windows binaries under Debian's Wine 8.0,
# against Wine's real secur32: NTLM through Samba's ntlm_auth, Kerberos and
# Negotiate against a throwaway MIT KDC on loopback.
#
#   bash .ci/wine/run.sh            # from the repository root, as root on Debian bookworm
#
# It installs what is missing (apt), keeps a Wine prefix in
# $GOSSPI_WINE_HOME (default ~/.cache/gosspi-wine) between runs, and prints
# how long each phase took and the conformance counts. A missing tool
# fails the tier; it never skips itself.
#
# Environment: GOSSPI_WINE_HOME (state dir), GOSSPI_WINE_TESTFLAGS (extra
# go test flags, e.g. "-run TestSmoke"), GOSSPI_WINE_KEEP=1 (keep the KDC
# temp dir for inspection).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$root/.ci/wine
cd "$root"

tier_start=$(date +%s.%N)
phase_start=$tier_start
phase_name=""
say() { printf 'wine-tier: %s\n' "$*"; }
die() { say "FAIL: $*" >&2; exit 1; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
phase() {
	if [ -n "$phase_name" ]; then say "phase '$phase_name' took $(elapsed "$phase_start")s"; fi
	phase_name=$1
	phase_start=$(date +%s.%N)
	[ -z "$phase_name" ] || say "phase '$phase_name'..."
}


# ---------------------------------------------------------------- packages
phase "install packages"
wine64=/usr/lib/wine/wine64
apt_pkgs=(wine wine64 binutils-mingw-w64-x86-64 winbind krb5-kdc krb5-admin-server krb5-user iproute2)
need_tools() {
	[ -x "$wine64" ] && command -v wineboot >/dev/null &&
		command -v x86_64-w64-mingw32-dlltool >/dev/null && command -v x86_64-w64-mingw32-ld >/dev/null &&
		command -v x86_64-w64-mingw32-as >/dev/null &&
		[ -x /usr/bin/ntlm_auth ] && command -v krb5kdc >/dev/null && command -v kdb5_util >/dev/null &&
		command -v kadmin.local >/dev/null && command -v kinit >/dev/null &&
		command -v ss >/dev/null # iproute2: finds a free port and sees the KDC listen
}
if need_tools; then
	say "all tools present, no apt run needed"
else
	if [ "$(id -u)" != 0 ]; then
		die "tools missing and not root: install ${apt_pkgs[*]}"
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	for p in "${apt_pkgs[@]}"; do
		cand=$(apt-cache policy "$p" | awk '/Candidate:/ { print $2 }')
		if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then die "apt has no candidate for $p"; fi
		say "apt: $p $cand"
	done
	apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${apt_pkgs[@]}"
	need_tools || die "tools still missing after apt-get install"
fi
command -v go >/dev/null || die "go is not on PATH"
say "$("$wine64" --version), $(/usr/bin/ntlm_auth --version), $(krb5-config --version 2>/dev/null || echo MIT krb5)"

# ---------------------------------------------------------------- prefix
phase "wine prefix"
state=${GOSSPI_WINE_HOME:-${HOME:-/root}/.cache/gosspi-wine}
mkdir -p "$state"
export WINEPREFIX=$state/prefix
export WINEARCH=win64
export WINEDEBUG=${WINEDEBUG:--all}
# No Mono/Gecko installers; no winedbg on a crash (the test binary just dies).
export WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
unset DISPLAY WAYLAND_DISPLAY
sys32=$WINEPREFIX/drive_c/windows/system32
if [ -f "$sys32/kernel32.dll" ] && [ -f "$WINEPREFIX/system.reg" ]; then
	say "reusing prefix $WINEPREFIX"
else
	rm -rf "$WINEPREFIX"
	"$wine64" wineboot -i >"$state/wineboot.log" 2>&1 || { cat "$state/wineboot.log"; die "wineboot -i failed"; }
	"$(dirname "$wine64")/wineserver" -w || true
	[ -f "$sys32/kernel32.dll" ] || { cat "$state/wineboot.log"; die "wineboot made no prefix"; }
	say "created prefix $WINEPREFIX"
fi

# ---------------------------------------------------------------- forwarder
phase "bcryptprimitives forwarder"
# Go >= 1.22 binaries import bcryptprimitives.dll!ProcessPrng, which Wine
# 8.0 lacks: a DLL that forwards it to advapi32.SystemFunction036 fixes it.
build=$state/build
mkdir -p "$build"
stamp=$(cat "$here/bcryptprimitives.def" "$here/dllentry.s" | sha256sum | cut -c1-16)
if [ -f "$sys32/bcryptprimitives.dll" ] && [ "$(cat "$build/stamp" 2>/dev/null)" = "$stamp" ]; then
	say "bcryptprimitives.dll up to date"
else
	x86_64-w64-mingw32-as -o "$build/dllentry.o" "$here/dllentry.s"
	x86_64-w64-mingw32-dlltool -d "$here/bcryptprimitives.def" -D bcryptprimitives.dll -e "$build/exports.o"
	x86_64-w64-mingw32-ld --dll --no-insert-timestamp -e DllEntry --subsystem windows \
		-o "$build/bcryptprimitives.dll" "$build/exports.o" "$build/dllentry.o"
	cp "$build/bcryptprimitives.dll" "$sys32/bcryptprimitives.dll"
	echo "$stamp" >"$build/stamp"
	say "built and installed $sys32/bcryptprimitives.dll"
fi

# ---------------------------------------------------------------- accounts
phase "ntlm_auth wrapper and KDC"
work=$(mktemp -d "${TMPDIR:-/tmp}/gosspi-wine.XXXXXX")
kdc_pid=""
cleanup() {
	if [ -n "$kdc_pid" ]; then kill "$kdc_pid" 2>/dev/null || true; wait "$kdc_pid" 2>/dev/null || true; fi
	"$(dirname "$wine64")/wineserver" -k 2>/dev/null || true
	if [ "${GOSSPI_WINE_KEEP:-}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

randpw() { head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 20; }

# NTLM: the account the ntlm_auth wrapper accepts on the server side.
mkdir -p "$work/bin"
cp "$here/ntlm_auth" "$work/bin/ntlm_auth"
chmod +x "$work/bin/ntlm_auth"
export PATH=$work/bin:$PATH
export GOSSPI_REAL_NTLM_AUTH=/usr/bin/ntlm_auth
export GOSSPI_TEST_USER=gosspi
export GOSSPI_TEST_DOMAIN=GOSSPI
GOSSPI_TEST_PASSWORD=N1-$(randpw)
export GOSSPI_TEST_PASSWORD

# A gss-ntlmssp install would hijack Wine's Kerberos: no extra mechanisms.
: >"$work/gss-mech"
export GSS_MECH_CONFIG=$work/gss-mech

# Kerberos: a throwaway MIT realm on a free loopback port.
realm=GOSSPI.TEST
port=""
for _ in $(seq 1 50); do
	p=$((20000 + RANDOM % 20000))
	if ! ss -Hlnut "( sport = :$p )" 2>/dev/null | grep -q .; then port=$p; break; fi
done
[ -n "$port" ] || die "no free loopback port for the KDC"
k=$work/krb5
mkdir -p "$k"
cat >"$k/krb5.conf" <<EOF
[libdefaults]
	default_realm = $realm
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	ignore_acceptor_hostname = true
	forwardable = true
[realms]
	$realm = {
		kdc = 127.0.0.1:$port
		admin_server = 127.0.0.1:$port
	}
[domain_realm]
	localhost = $realm
EOF
cat >"$k/kdc.conf" <<EOF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$port
	kdc_tcp_listen = 127.0.0.1:$port
[realms]
	$realm = {
		database_name = $k/principal
		key_stash_file = $k/stash
		acl_file = $k/kadm5.acl
		max_life = 10h 0m 0s
		max_renewable_life = 1d
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:$k/kdc.log
EOF
: >"$k/kadm5.acl"
export KRB5_CONFIG=$k/krb5.conf
export KRB5_KDC_PROFILE=$k/kdc.conf
export KRB5CCNAME=FILE:$k/ccache
export KRB5_KTNAME=FILE:$k/service.keytab
export KRB5_TRACE_FILE=/dev/null
kdb5_util create -s -r "$realm" -P "M-$(randpw)" >"$k/kdb5_util.log" 2>&1 || { cat "$k/kdb5_util.log"; die "kdb5_util create failed"; }
export GOSSPI_KRB5_USER=alice
export GOSSPI_KRB5_REALM=$realm
GOSSPI_KRB5_PASSWORD=K1-$(randpw)
export GOSSPI_KRB5_PASSWORD
export GOSSPI_KRB5_TARGET=HTTP/localhost
kadmin.local -r "$realm" -q "addprinc -pw $GOSSPI_KRB5_PASSWORD $GOSSPI_KRB5_USER" >"$k/kadmin.log" 2>&1
kadmin.local -r "$realm" -q "addprinc -randkey $GOSSPI_KRB5_TARGET" >>"$k/kadmin.log" 2>&1
kadmin.local -r "$realm" -q "ktadd -k $k/service.keytab $GOSSPI_KRB5_TARGET" >>"$k/kadmin.log" 2>&1 ||
	{ cat "$k/kadmin.log"; die "kadmin.local failed"; }
krb5kdc -n -r "$realm" -P "$k/kdc.pid" >"$k/krb5kdc.out" 2>&1 &
kdc_pid=$!
for _ in $(seq 1 50); do
	if ss -Hlnt "( sport = :$port )" 2>/dev/null | grep -q .; then break; fi
	kill -0 "$kdc_pid" 2>/dev/null || { cat "$k/krb5kdc.out" "$k/kdc.log" 2>/dev/null; die "krb5kdc exited"; }
	sleep 0.1
done
ss -Hlnt "( sport = :$port )" | grep -q . || die "krb5kdc does not listen on 127.0.0.1:$port"
# Check the realm from the Linux side first, so a KDC problem is not
# mistaken for a Wine one.
echo "$GOSSPI_KRB5_PASSWORD" | kinit "$GOSSPI_KRB5_USER@$realm" >"$k/kinit.log" 2>&1 || { cat "$k/kinit.log"; die "kinit against the loopback KDC failed"; }
kdestroy >/dev/null 2>&1 || true
say "KDC for $realm on 127.0.0.1:$port (pid $kdc_pid), NTLM account $GOSSPI_TEST_DOMAIN\\$GOSSPI_TEST_USER"

# ---------------------------------------------------------------- tests
phase "go test under wine"
export GOSSPI_WINE=1
export GOSSPI_WINE64=$wine64
# Start the prefix's wineserver and services (winedevice.exe, ...) now, with
# their output to /dev/null: started by a test binary, they would inherit
# the pipe go test reads from and keep it open long after the test exits.
"$(dirname "$wine64")/wineserver" -p >/dev/null 2>&1 </dev/null || true
"$wine64" wineboot >/dev/null 2>&1 </dev/null || die "wine does not start"
log=$work/go-test.json
go build -o "$work/tally" "$here/tally.go"
set +e
# -json so that the counts are exact; tally prints the output as -v would.
# shellcheck disable=SC2086 # GOSSPI_WINE_TESTFLAGS is a list of flags
GOOS=windows GOARCH=amd64 go test -count=1 -json -timeout 20m -exec "$here/wine-exec.sh" \
	${GOSSPI_WINE_TESTFLAGS:-} ./backend/winsspi/... 2>&1 | tee "$log" | "$work/tally"
codes=("${PIPESTATUS[@]}")
set -e
rc=${codes[0]}
phase "report"
if [ "$rc" = 0 ] && [ "${codes[2]}" != 0 ] && [ -z "${GOSSPI_WINE_TESTFLAGS:-}" ]; then
	say "no conformance subtests ran"
	rc=1
fi
phase ""
say "total $(elapsed "$tier_start")s, go test exit code $rc"
exit "$rc"
