#!/usr/bin/env bash
# Compatibility name: this test is now tests/lab/test_reference.sh (the name scripts/test.sh
# picks up, tests/lab/test_*.sh).
exec "$(cd "$(dirname "$0")" && pwd)/test_reference.sh" "$@"
