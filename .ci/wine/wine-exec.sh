#!/bin/sh
# go test -exec wrapper: runs a GOOS=windows test binary under Wine and
# passes its exit code through. run.sh sets WINEPREFIX and the rest.
wine64=${GOSSPI_WINE64:-/usr/lib/wine/wine64}
exec "$wine64" "$@"
