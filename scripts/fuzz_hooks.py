"""Schemathesis hooks: authenticate each generated request as the API's contract says.

Partner calls (tags `partner`, `coupons`) are signed with RFC 9421 by an off-the-shelf client
(PyPI http-message-signatures), covering the body's Content-Digest and the Idempotency-Key;
member calls bear a member token and finance calls an operator token. The signing happens as
`requests` prepares the request, so the signature covers the very bytes that are sent.

Environment: COALITION_FUZZ_KEY_ID, COALITION_FUZZ_KEY (PEM path), COALITION_FUZZ_MEMBER_TOKEN,
COALITION_FUZZ_FINANCE_TOKEN.
"""

import atexit
import collections
import os

import requests
import schemathesis
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.resolvers import MappingKeyResolver

KEY_ID = os.environ["COALITION_FUZZ_KEY_ID"]
with open(os.environ["COALITION_FUZZ_KEY"], "rb") as f:
    SIGNER = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: f.read()}),
    )
MEMBER_TOKEN = os.environ["COALITION_FUZZ_MEMBER_TOKEN"]
FINANCE_TOKEN = os.environ["COALITION_FUZZ_FINANCE_TOKEN"]


class PartnerSignature(requests.auth.AuthBase):
    """Signs a prepared request: @method, @authority, @target-uri, the digest of any body, and
    the Idempotency-Key when there is one (a generated header value may be one the server
    refuses; then the server says so, which is what the fuzz is for)."""

    def __call__(self, prepared):
        covered = ["@method", "@authority", "@target-uri"]
        if "Idempotency-Key" in prepared.headers:
            covered.append("idempotency-key")
        body = prepared.body
        if isinstance(body, str):
            body = body.encode()
        # Given the body, the library adds Content-Digest and covers it.
        try:
            SIGNER.sign(prepared, key_id=KEY_ID, label="fuzz", body=body, covered_component_ids=covered)
        except Exception:  # noqa: BLE001 - whatever the library refuses, the request still goes
            # A generated header the library will not put in a signature base (control
            # characters): the request goes unsigned, and the server must still answer it well.
            pass
        return prepared


@schemathesis.hook
def before_call(context, case, kwargs):
    # Schemathesis fills the declared credential header (`Signature`, `Authorization`) with a
    # placeholder, and leaves it out on purpose to test that its absence is refused: the real
    # credential replaces the placeholder and is never added where the case left it out.
    headers = case.headers or {}
    tags = case.operation.definition.raw.get("tags", [])
    if "partner" in tags or "coupons" in tags or "webhooks" in tags:
        if "Signature" in headers:
            kwargs["auth"] = PartnerSignature()
    elif "Authorization" in headers:
        token = MEMBER_TOKEN if "member" in tags else FINANCE_TOKEN
        case.headers = {**headers, "Authorization": f"Bearer {token}"}


# What the server answered, per kind of caller: a run whose signed or token-bearing requests all
# stopped at 401 would have tested only the door, so the run fails then (see `report`).
ANSWERS = collections.Counter()


@schemathesis.hook
def after_call(context, case, response):
    tags = case.operation.definition.raw.get("tags", ["public"])
    ANSWERS[(tags[0], response.status_code)] += 1


@atexit.register
def report():
    if not ANSWERS:
        return  # imported to sign a few calls, not running under schemathesis
    callers = sorted({who for who, _ in ANSWERS})
    for who in callers:
        statuses = {s: n for (w, s), n in sorted(ANSWERS.items()) if w == who}
        print(f"fuzz: {who}: {statuses}")
    for who in ("partner", "coupons", "member", "finance"):
        past_door = sum(n for (w, s), n in ANSWERS.items() if w == who and s != 401)
        if past_door == 0:
            print(f"fuzz: no {who} request got past authentication; the hooks are broken")
            os._exit(1)
