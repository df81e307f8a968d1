#!/usr/bin/env bash
# Restarts the Docker engine (systemd's unit where there is one, else the dockerd that
# setup-host.sh started) and waits until it answers again. Used by the self-healing test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ] && systemctl is-active --quiet docker; then
    systemctl restart docker
else
    pkill -TERM -x dockerd || true
    for _ in $(seq 1 120); do
        pgrep -x dockerd >/dev/null 2>&1 || break
        sleep 0.25
    done
fi
exec "$here/setup-host.sh"
