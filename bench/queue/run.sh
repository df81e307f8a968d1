#!/usr/bin/env bash
# Builds the queue benchmark with `-c release` and runs it. Arguments go to the benchmark
# (`bench/queue/run.sh --help`). The last line of the output is the headline:
#   queue: <N> jobs/s claim+complete with 4 processes, p50 wake-up <M> ms, double claims <K>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# SwiftPM refuses target paths outside the package root: link the real modules in
# (git-ignored; nothing is copied).
for module in MiniCore Store Queue; do
    ln -sfn "../../../Sources/$module" "$here/Sources/$module"
done

swift build --package-path "$here" -c release --product QueueBench >&2
bin="$(swift build --package-path "$here" -c release --show-bin-path)"
exec "$bin/QueueBench" "$@"
