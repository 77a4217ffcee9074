#!/usr/bin/env bash
# The HTTP tier: a real curl authenticates with NTLM against the sspihttp
# middleware served by the fake backend. Installs curl when it is missing
# (Debian, as root) and runs the test with GOSSPI_REQUIRE_TIERS=1, so a
# missing tool fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
if ! command -v curl >/dev/null 2>&1; then
	apt-get update
	apt-get -o DPkg::Lock::Timeout=600 install -y curl
fi
curl --version | head -1
GOSSPI_REQUIRE_TIERS=1 go test -count=1 -run '^TestCurl' -v ./sspihttp/
