"""An off-the-shelf RFC 9421 client (PyPI: http-message-signatures) calling Coalition.

Usage: interop_client.py BASE_URL KEY_ID PRIVATE_KEY_PEM
Enrols a member, earns points and reads the balance, each request signed by the library
with Ed25519 and, for bodies, a Content-Digest it computes itself. Exits non-zero on any
unexpected answer.
"""

import json
import sys
import uuid

import requests
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.resolvers import MappingKeyResolver

base, key_id, key_file = sys.argv[1], sys.argv[2], sys.argv[3]
with open(key_file, "rb") as f:
    private_key = f.read()
signer = HTTPMessageSigner(
    signature_algorithm=algorithms.ED25519,
    key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: private_key}),
)
session = requests.Session()
# The library's defaults (@method, @authority, @target-uri, and content-digest for a body) plus
# the Idempotency-Key, which Coalition requires a POST's signature to cover.
POST_COMPONENTS = ("@method", "@authority", "@target-uri", "idempotency-key")


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = requests.Request(method, base + path, data=data, headers={"Content-Type": "application/json"})
    prepared = request.prepare()
    covered = ("@method", "@authority", "@target-uri")
    if method == "POST":
        prepared.headers["Idempotency-Key"] = str(uuid.uuid4())
        covered = POST_COMPONENTS
    signer.sign(prepared, key_id=key_id, label="pyhms", body=data, covered_component_ids=covered)
    response = session.send(prepared)
    print(f"{method} {path} -> {response.status_code}")
    return response


def expect(response, status):
    if response.status_code != status:
        print(response.text)
        sys.exit(1)
    return response.json()


member = expect(call("POST", "/v1/members", {"external_id": "python-" + str(uuid.uuid4())}), 201)["member_id"]
receipt = expect(call("POST", "/v1/earn", {"member_id": member, "points": "42", "reference": "py-1"}), 201)
balances = expect(call("GET", f"/v1/members/{member}/balances"), 200)["balances"]
assert balances[0]["balance"] == "42", balances
# A tampered body must be refused even when the library signed the original.
data = json.dumps({"member_id": member, "points": "1", "reference": "py-2"}).encode()
req = requests.Request("POST", base + "/v1/earn", data=data, headers={"Content-Type": "application/json"}).prepare()
req.headers["Idempotency-Key"] = str(uuid.uuid4())
signer.sign(req, key_id=key_id, label="pyhms", body=data, covered_component_ids=POST_COMPONENTS)
req.body = data.replace(b'"1"', b'"999"')
req.headers["Content-Length"] = str(len(req.body))
tampered = session.send(req)
print(f"tampered POST /v1/earn -> {tampered.status_code} {tampered.json().get('code')}")
assert tampered.status_code == 401 and tampered.json()["code"] == "digest_mismatch", tampered.text
print("interop ok: entry", receipt["entry_id"])
