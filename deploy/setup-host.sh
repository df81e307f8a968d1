#!/usr/bin/env bash
# Installs what mini needs on a Debian/Ubuntu machine and makes sure a Docker engine answers.
# Idempotent: run it as often as you like. Needs root (or sudo) for the install step.
set -euo pipefail

SOCKET=${MINI_DOCKER_SOCKET:-/var/run/docker.sock}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v curl >/dev/null 2>&1 || need+=(curl)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd || need+=(busybox-static)
for extra in ${MINI_EXTRA_PACKAGES:-}; do
    dpkg -s "$extra" >/dev/null 2>&1 || need+=("$extra")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

engine_answers() {
    curl -fsS --max-time 2 --unix-socket "$SOCKET" http://docker/_ping 2>/dev/null | grep -qx OK
}

if ! engine_answers; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        $SUDO systemctl start docker || true
    fi
fi
if ! engine_answers; then
    # A dockerd that is still stopping (it stops every container first) must finish before a
    # new one can start: wait for it rather than start a second one that fails on its pid file.
    for _ in $(seq 1 60); do
        pgrep -x dockerd >/dev/null 2>&1 || break
        engine_answers && break
        sleep 0.5
    done
fi
# Starts dockerd in its own session with no descriptor of ours but the log: a daemon that
# inherits a caller's pipe keeps that caller from ever seeing end-of-file (CI, test runners).
start_dockerd() {
    (
        cd /
        for fd in /proc/$BASHPID/fd/*; do
            n=${fd##*/}
            [ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-"
        done
        exec $SUDO setsid dockerd </dev/null >>/var/log/mini-dockerd.log 2>&1
    ) &
}
if ! engine_answers && ! pgrep -x dockerd >/dev/null 2>&1; then
    echo "setup: starting dockerd (log: /var/log/mini-dockerd.log)" >&2
    start_dockerd
fi
for _ in $(seq 1 60); do
    if engine_answers; then
        echo "setup: Docker engine ready on $SOCKET" >&2
        exit 0
    fi
    sleep 0.5
done
echo "setup: the Docker engine did not answer on $SOCKET within 30 s; see /var/log/mini-dockerd.log" >&2
exit 1
