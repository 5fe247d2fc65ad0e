#!/usr/bin/env bash
# Interoperability: an off-the-shelf RFC 9421 client in Python (PyPI http-message-signatures)
# signs requests that a real `coalition serve` must accept. Needs python3 and PyPI.
# Exit 0: passed. Exit 3: the Python client could not be installed (nothing was tested).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
# The server is waited for before its files are removed: on SIGTERM it still checkpoints and
# closes its database, and a concurrent `rm -rf` then fails on a file created meanwhile.
trap 'if [ -n "${server:-}" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

python3 -m venv "$work/venv" >/dev/null
if ! "$work/venv/bin/pip" install -q "http-message-signatures==3.0.0" "requests>=2.31" >"$work/pip.log" 2>&1; then
    echo "interop: could not install the Python client from PyPI (see below); nothing tested"
    tail -n 5 "$work/pip.log"
    exit 3
fi

. scripts/lib.sh
serve_with_key aroma-python
"$work/venv/bin/python" scripts/interop_client.py "$base" aroma-python "$work/aroma-python.pem"
