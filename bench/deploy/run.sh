#!/usr/bin/env bash
# bench/deploy: time from `mini deploy` to the first 200 through the proxy for
# examples/hello, against `docker build` + `docker run` + first 200 of the same folder,
# interleaved in the same run. Each round changes index.html so both rebuild the app layer.
# Usage: bench/deploy/run.sh [rounds=5]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-5}
cd "$root"
deploy/setup-host.sh >/dev/null 2>&1
examples/prepare.sh >/dev/null
build=(swift build -c release --scratch-path "${MINI_BUILD_DIR:-.build}")
"${build[@]}" --product mini >/dev/null
"${build[@]}" --product minid >/dev/null
bin=$("${build[@]}" --show-bin-path)

work=$(mktemp -d /tmp/mini-bench-deploy.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
api_port=$(free_port); proxy_port=$(free_port); raw_port=$(free_port)
"$bin/minid" serve --data-dir "$work/data" --api-port "$api_port" --proxy-port "$proxy_port" --workers 2 \
    --log-level warning >"$work/minid.log" 2>&1 &
minid_pid=$!
cleanup() {
    kill "$minid_pid" 2>/dev/null || true
    wait "$minid_pid" 2>/dev/null || true
    docker rm -f mini-bench-raw >/dev/null 2>&1 || true
    docker ps -aq --filter label=mini.app=benchhello | xargs -r docker rm -f >/dev/null 2>&1 || true
    docker images -q mini/benchhello | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
    docker rmi -f mini-bench-raw >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$api_port/healthz" >/dev/null && break; sleep 0.1; done
export MINI_HOST="http://127.0.0.1:$api_port" MINI_TOKEN=$(cat "$work/data/admin.token") XDG_CONFIG_HOME="$work/config"
cp -r examples/hello "$work/app"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
wait_200() { # url host
    until [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $2" "$1")" = 200 ]; do sleep 0.02; done
}
wait_body() { # url host body
    until curl -s -H "Host: $2" "$1" | grep -q "$3"; do sleep 0.02; done
}

mini_times=(); docker_times=()
for round in $(seq 1 "$rounds"); do
    marker="round-$round-$RANDOM"
    echo "<h1>$marker</h1>" >"$work/app/www/index.html"
    start=$(now)
    "$bin/mini" deploy "$work/app" --app benchhello >/dev/null
    wait_body "http://127.0.0.1:$proxy_port/" benchhello.localhost "$marker"
    mini_times+=("$(elapsed "$start")")

    marker="raw-$round-$RANDOM"
    echo "<h1>$marker</h1>" >"$work/app/www/index.html"
    docker rm -f mini-bench-raw >/dev/null 2>&1 || true
    start=$(now)
    docker build -q -t mini-bench-raw "$work/app" >/dev/null 2>&1
    docker run -d --name mini-bench-raw -p "127.0.0.1:$raw_port:8080" mini-bench-raw >/dev/null
    wait_body "http://127.0.0.1:$raw_port/" localhost "$marker"
    docker_times+=("$(elapsed "$start")")
    printf 'round %d: mini %.2f s, docker %.2f s\n' "$round" "${mini_times[-1]}" "${docker_times[-1]}"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
m=$(median "${mini_times[@]}"); d=$(median "${docker_times[@]}")
printf 'machine: %s cores, %s\n' "$(nproc)" "$(uname -sr)"
printf 'deploy: mini %.2f s, docker %.2f s, ratio %.2f\n' "$m" "$d" "$(awk -v m="$m" -v d="$d" 'BEGIN { print m / d }')"
