#!/usr/bin/env bash
# Benchmark: mini's proxy against nginx as a keep-alive reverse proxy, same nginx upstream,
# loopback only. wrk -t1 -c64 -d10s --latency, direct / nginx / mini interleaved, 3 rounds,
# medians (the req/s ratio is the median of the rounds' ratios); then 1,000 connections
# against both, checking for errors; then HTTPS, each proxy terminating TLS with the same certificate.
# Env: ROUNDS (3), DURATION (10s), BENCH_SCRATCH (build folder, outside the repository).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
SCRATCH="${BENCH_SCRATCH:-${TMPDIR:-/tmp}/mini-proxy-bench-build}"
UPSTREAM_PORT=18181
NGINX_PORT=18182
MINI_PORT=18183
NGINX_TLS_PORT=18184
MINI_TLS_PORT=18185

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need wrk; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null
fi
ulimit -n 65536 2>/dev/null || true

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "building the mini proxy runner (release)..." >&2
swift build -c release --package-path "$HERE" --scratch-path "$SCRATCH" --product ProxyBench >&2
MINI_BIN="$SCRATCH/release/ProxyBench"

mkdir -p "$WORK/www" "$WORK/logs"
chmod 755 "$WORK" "$WORK/www"  # nginx workers run unprivileged
printf 'hello, world\n' >"$WORK/www/small"
head -c 16384 /dev/urandom >"$WORK/www/16k"
chmod 644 "$WORK/www/small" "$WORK/www/16k"
# One self-signed P-256 certificate both proxies serve over HTTPS.
mkdir -p "$WORK/certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=bench \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/certs/bench.key" -out "$WORK/certs/bench.crt" 2>/dev/null
chmod 644 "$WORK/certs/bench.key"  # nginx reads it as root before it drops privileges; only a benchmark key


cat >"$WORK/upstream.conf" <<CONF
worker_processes 1;
pid $WORK/logs/upstream.pid;
error_log $WORK/logs/upstream-error.log warn;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/logs; proxy_temp_path $WORK/logs; fastcgi_temp_path $WORK/logs;
    uwsgi_temp_path $WORK/logs; scgi_temp_path $WORK/logs;
    server {
        listen 127.0.0.1:$UPSTREAM_PORT backlog=4096;
        root $WORK/www;
    }
}
CONF

cat >"$WORK/proxy.conf" <<CONF
worker_processes auto;  # one per core, like mini's event loops (--threads $(nproc))
pid $WORK/logs/proxy.pid;
error_log $WORK/logs/proxy-error.log warn;
daemon off;
worker_rlimit_nofile 65536;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/logs; proxy_temp_path $WORK/logs; fastcgi_temp_path $WORK/logs;
    uwsgi_temp_path $WORK/logs; scgi_temp_path $WORK/logs;
    upstream backend {
        server 127.0.0.1:$UPSTREAM_PORT;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        listen 127.0.0.1:$NGINX_TLS_PORT ssl backlog=4096;
        ssl_certificate $WORK/certs/bench.crt;
        ssl_certificate_key $WORK/certs/bench.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # The header work mini does for every request (as Dokku's nginx template does it).
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$http_host;
            proxy_set_header X-Request-Id \$request_id;
        }
    }
}
CONF

nginx -p "$WORK" -c "$WORK/upstream.conf" & PIDS+=($!)
nginx -p "$WORK" -c "$WORK/proxy.conf" & PIDS+=($!)
"$MINI_BIN" --port "$MINI_PORT" --threads "$(nproc)" --tls-port "$MINI_TLS_PORT" --tls-certs "$WORK/certs" \
    --route "127.0.0.1=127.0.0.1:$UPSTREAM_PORT" & PIDS+=($!)

for port in $UPSTREAM_PORT $NGINX_PORT $MINI_PORT; do
    for _ in $(seq 100); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/small" 2>/dev/null && break
        sleep 0.1
    done
    curl -fsS -o /dev/null "http://127.0.0.1:$port/small" || { echo "port $port does not answer" >&2; exit 1; }
done

# Latency in wrk's units (us, ms, s) → milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

# run TARGET PORT BODY [SCHEME] → appends "rps p50 p99" to $WORK/results/TARGET-BODY
mkdir -p "$WORK/results"
run() {
    local target="$1" port="$2" body="$3" scheme="${4:-http}" out
    out="$(wrk -t1 -c64 -d"$DURATION" --latency "$scheme://127.0.0.1:$port/$body")"
    if grep -q -E "Socket errors|Non-2xx" <<<"$out"; then
        echo "warning: $target $body: $(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr -s ' ')" >&2
    fi
    local rps p50 p99
    rps="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")"
    p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")"
    p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")"
    echo "$rps $p50 $p99" >>"$WORK/results/$target-$body"
    printf '  round %s %-6s %-6s %10s req/s  p50 %8s ms  p99 %8s ms\n' "$round" "$target" "$body" "$rps" "$p50" "$p99" >&2
}

echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
for round in $(seq "$ROUNDS"); do
    for body in small 16k; do
        run direct $UPSTREAM_PORT "$body"
        run nginx $NGINX_PORT "$body"
        run mini $MINI_PORT "$body"
    done
done

# median COLUMN FILE
median() { awk -v c="$1" '{ print $c }' "$2" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo
printf '%-8s %-6s %12s %10s %10s\n' target body "req/s" "p50 ms" "p99 ms"
for body in small 16k; do
    for target in direct nginx mini; do
        f="$WORK/results/$target-$body"
        printf '%-8s %-6s %12.0f %10s %10s\n' "$target" "$body" "$(median 1 "$f")" "$(median 2 "$f")" "$(median 3 "$f")"
    done
done

echo
echo "1,000 connections (wrk -t1 -c1000 -d5s):"
errors=0
for target in nginx mini; do
    port=$NGINX_PORT; [ "$target" = mini ] && port=$MINI_PORT
    out="$(wrk -t1 -c1000 -d5s "http://127.0.0.1:$port/small")"
    printf '  %-6s %s req/s' "$target" "$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")"
    if grep -q -E "Socket errors|Non-2xx" <<<"$out"; then
        echo "  ERRORS: $(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr -s ' ')"
        [ "$target" = mini ] && errors=1
    else
        echo "  no errors"
    fi
done

# HTTPS: each proxy terminates TLS (its own listener, the same certificate) in front of the
# same upstream; wrk keeps its 64 connections, so this measures the encrypted exchanges, not
# handshakes.
echo >&2
echo "HTTPS (wrk -t1 -c64 -d$DURATION, keep-alive, small body):" >&2
for round in $(seq "$ROUNDS"); do
    run nginx-tls $NGINX_TLS_PORT small https
    run mini-tls $MINI_TLS_PORT small https
done
paste "$WORK/results/mini-tls-small" "$WORK/results/nginx-tls-small" | awk '{ printf "%.2f\n", $1 / $4 }' \
    >"$WORK/results/ratio-tls"
echo "https: mini/nginx req/s small $(median 1 "$WORK/results/ratio-tls") (rounds $(tr '\n' ' ' <"$WORK/results/ratio-tls" | sed 's/ $//')); p99 ms $(median 3 "$WORK/results/mini-tls-small") vs $(median 3 "$WORK/results/nginx-tls-small")"

# mini/nginx per round (the two runs of a round are seconds apart, so a burst of load from
# other tenants of the machine hits both or neither), then the median over the rounds.
paired_ratio() {
    paste "$WORK/results/mini-$1" "$WORK/results/nginx-$1" | awk '{ printf "%.2f\n", $1 / $4 }' >"$WORK/results/ratio-$1"
    echo "  $1: $(tr '\n' ' ' <"$WORK/results/ratio-$1")" >&2
    awk '{ printf "%.2f", $1 }' <<<"$(median 1 "$WORK/results/ratio-$1")"
}
echo >&2
echo "mini/nginx req/s per round:" >&2
small_ratio="$(paired_ratio small)"
big_ratio="$(paired_ratio 16k)"
echo "proxy: mini/nginx req/s small $small_ratio, 16KiB $big_ratio; p99 ms small $(median 3 "$WORK/results/mini-small") vs $(median 3 "$WORK/results/nginx-small"), 16KiB $(median 3 "$WORK/results/mini-16k") vs $(median 3 "$WORK/results/nginx-16k")"
exit "$errors"
