#!/usr/bin/env bash
# Interoperability of webhooks: an independent receiver in Python verifies Coalition's Standard
# Webhooks `v1a` (Ed25519) signatures with `cryptography`, against a real `coalition serve`.
# Needs python3 and PyPI. Exit 0: passed. Exit 3: the Python packages could not be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'if [ -n "${server:-}" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

python3 -m venv "$work/venv" >/dev/null
if ! "$work/venv/bin/pip" install -q "cryptography>=42" "http-message-signatures==3.0.0" "requests>=2.31" >"$work/pip.log" 2>&1; then
    echo "webhooks interop: could not install the Python packages from PyPI (see below); nothing tested"
    tail -n 5 "$work/pip.log"
    exit 3
fi

. scripts/lib.sh
# The receiver listens on loopback: allowed for this run only.
serve_with_key aroma-hooks --allow-private-webhooks
"$work/venv/bin/python" scripts/webhooks_receiver.py "$base" aroma-hooks "$work/aroma-hooks.pem"
