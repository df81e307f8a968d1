#!/usr/bin/env bash
# Runs the whole test suite: sets up the host (Docker engine, busybox), builds, tests.
# Tests that need Docker fail when it is missing if MINI_REQUIRE_DOCKER=1 (as in CI).
# Tests run one at a time: several of them time real processes and the machine has 2 cores.
# The self-healing test restarts dockerd, so it runs alone, after the others.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup-host.sh
examples/prepare.sh
swift build --build-tests
status=0
swift test --skip-build --no-parallel --skip SelfHealingTests "$@" || status=$?
deploy/setup-host.sh >/dev/null
swift test --skip-build --no-parallel --filter SelfHealingTests || status=$?
exit "$status"
