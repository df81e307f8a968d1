#!/usr/bin/env bash
# Builds mini and starts `minid serve` (SQLite in ./data, API on 127.0.0.1:7070, apps on
# http://<app>.localhost:8080). Extra arguments go to `minid serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup-host.sh
examples/prepare.sh
swift build -c release --product mini
swift build -c release --product minid
bin=$(swift build -c release --show-bin-path)
echo "mini CLI: $bin/mini (copy it onto your PATH)"
exec "$bin/minid" serve --data-dir "${MINI_DATA_DIR:-./data}" "$@"
