#!/usr/bin/env bash
# Schema-driven fuzz: schemathesis (PyPI) generates requests from the served /openapi.json and
# checks every answer against it — no 5xx, only declared statuses, declared content types and
# response schemas. Partner calls are signed, member and finance calls bear tokens
# (scripts/fuzz_hooks.py), so the generated requests reach the handlers, not only the doors.
# Bounded: FUZZ_EXAMPLES generated cases per operation (default 100).
# Exit 0: passed. Exit 3: schemathesis could not be installed (nothing was tested).
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${FUZZ_EXAMPLES:-100}"
checks="${FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method}"
work=$(mktemp -d)
trap 'if [ -n "${server:-}" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

python3 -m venv "$work/venv" >/dev/null
if ! "$work/venv/bin/pip" install -q "schemathesis==4.32.5" "http-message-signatures==3.0.0" \
    >"$work/pip.log" 2>&1; then
    echo "fuzz: could not install schemathesis from PyPI (see below); nothing tested"
    tail -n 5 "$work/pip.log"
    exit 3
fi

# The rate limit is the one thing raised: the fuzz is one partner sending as fast as it can.
. scripts/lib.sh
RUST_LOG=error serve_with_key aroma-fuzz --rate-per-sec 100000

export COALITION_FUZZ_KEY_ID=aroma-fuzz COALITION_FUZZ_KEY="$work/aroma-fuzz.pem"
COALITION_FUZZ_FINANCE_TOKEN=$("$bin" token --role operator --network-key "$work/network.pem")
# A member to hold a token; the hooks module signs the two calls that make it.
COALITION_FUZZ_MEMBER_TOKEN=$(COALITION_FUZZ_MEMBER_TOKEN= COALITION_FUZZ_FINANCE_TOKEN= \
    PYTHONPATH=scripts "$work/venv/bin/python" -c '
import sys, uuid, requests, fuzz_hooks
base = sys.argv[1]
def post(path, body):
    r = requests.post(base + path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())},
                      auth=fuzz_hooks.PartnerSignature())
    r.raise_for_status()
    return r.json()
member = post("/v1/members", {"external_id": "fuzz"})["member_id"]
post("/v1/earn", {"member_id": member, "points": "500", "reference": "fuzz"})
# Every scope, those asked for by name included, so that every member call is reachable — but
# `erase`: erasing the fuzz member would turn all later member calls of the run into 404s.
# DELETE /v1/me is fuzzed up to its scope check here; tests/api/privacy_http.rs erases for real.
scopes = ["wallet", "entries", "consent", "authorizations", "conversions", "donations", "card",
          "links", "profile", "export"]
print(post(f"/v1/members/{member}/tokens", {"scope": scopes})["token"])
' "$base")
export COALITION_FUZZ_FINANCE_TOKEN COALITION_FUZZ_MEMBER_TOKEN

SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH=scripts "$work/venv/bin/st" run "$base/openapi.json" \
    --url "$base" \
    --checks "$checks" \
    --max-examples "$examples" \
    --phases examples,coverage,fuzzing \
    --generation-deterministic \
    --no-color
