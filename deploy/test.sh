#!/usr/bin/env bash
# Runs the whole test suite: sets up the host (Docker engine, busybox), builds, tests.
# Tests that need Docker fail when it is missing if MINI_REQUIRE_DOCKER=1 (as in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup-host.sh
examples/prepare.sh
swift build --build-tests
swift test --skip-build "$@"
