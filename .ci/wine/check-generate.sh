#!/usr/bin/env bash
# Checks that the committed mkwinsyscall output of backend/winsspi is what
# regenerating it produces. Run from anywhere; exits non-zero on a diff.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pkg=$root/backend/winsspi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$pkg"
go run golang.org/x/sys/windows/mkwinsyscall@v0.42.0 -output "$tmp/zsyscall_windows.go" syscall_windows.go
if ! diff -u zsyscall_windows.go "$tmp/zsyscall_windows.go"; then
	echo "check-generate: backend/winsspi/zsyscall_windows.go is stale: run 'go generate ./backend/winsspi' and commit it" >&2
	exit 1
fi
# Where the file is committed, the working tree must match it too.
if git -C "$root" ls-files --error-unmatch backend/winsspi/zsyscall_windows.go >/dev/null 2>&1; then
	git -C "$root" diff --exit-code -- backend/winsspi/zsyscall_windows.go
fi
echo "check-generate: backend/winsspi bindings are up to date"
