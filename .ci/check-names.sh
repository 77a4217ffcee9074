#!/usr/bin/env bash
# Checks that the constant names namegen generates in flags/ and backend/
# are what the committed constants produce: regenerates them and fails on
# any change. Run from anywhere; exits non-zero on a diff.
set -euo pipefail
cd "$(dirname "$0")/.."
go generate ./flags ./backend
generated=(':(glob)flags/z*_names.go' ':(glob)backend/z*_names.go')
# A generated file that is new to git would not show in git diff.
untracked="$(git ls-files --others --exclude-standard -- "${generated[@]}")"
if [ -n "$untracked" ]; then
	echo "check-names: generated but not committed:" >&2
	echo "$untracked" >&2
	exit 1
fi
if ! git diff --exit-code -- "${generated[@]}"; then
	echo "check-names: generated names are stale: run 'go generate ./flags ./backend' (or make generate) and commit the result" >&2
	exit 1
fi
echo "check-names: generated names are up to date"
