#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 60s) and
# prints the exec count each one reached. go test -fuzz takes one target at
# a time, so this loops over `go test -list`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-60s}"
for pkg in $(go list ./...); do
  for fz in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "== $pkg $fz ($fuzztime)"
    out="$(go test -run='^$' -fuzz="^${fz}\$" -fuzztime="$fuzztime" "$pkg" 2>&1)" || { echo "$out"; exit 1; }
    echo "$out" | grep -E '^fuzz: elapsed' | tail -1
    echo "$out" | tail -1
  done
done
