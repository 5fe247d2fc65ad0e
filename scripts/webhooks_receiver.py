"""An independent Standard Webhooks receiver (Python, `cryptography`) for Coalition's `v1a`.

Usage: webhooks_receiver.py BASE_URL KEY_ID PRIVATE_KEY_PEM
Listens on a free loopback port, registers it as Aroma's endpoint (the PUT signed with the
off-the-shelf RFC 9421 library, as interop_client.py does), earns points twice, and checks that
both `entry.posted` events arrive in order with a `v1a` signature that verifies with the
network's Ed25519 key taken from /.well-known/jwks.json, exactly as the Standard Webhooks spec
describes: over `{webhook-id}.{webhook-timestamp}.{body}`, timestamp within five minutes. The
published `standardwebhooks` libraries verify only the HMAC `v1` scheme, hence the general
Ed25519 library. Exits non-zero on anything unexpected.
"""

import base64
import json
import queue
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.resolvers import MappingKeyResolver

base, key_id, key_file = sys.argv[1], sys.argv[2], sys.argv[3]
TOLERANCE_SECS = 5 * 60

with open(key_file, "rb") as f:
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: f.read()}),
    )
session = requests.Session()


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    prepared = requests.Request(method, base + path, data=data, headers={"Content-Type": "application/json"}).prepare()
    covered = ("@method", "@authority", "@target-uri")
    if method == "POST":
        prepared.headers["Idempotency-Key"] = str(uuid.uuid4())
        covered += ("idempotency-key",)
    signer.sign(prepared, key_id=key_id, label="pyhms", body=data, covered_component_ids=covered)
    return session.send(prepared)


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# The network's key, from its JWKS (an OKP / Ed25519 JWK).
jwks = requests.get(base + "/.well-known/jwks.json").json()["keys"]
okp = [k for k in jwks if k.get("kty") == "OKP" and k.get("crv") == "Ed25519"]
assert okp, jwks
network_key = Ed25519PublicKey.from_public_bytes(b64url(okp[0]["x"]))


def verify(headers, body):
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECS:
        raise ValueError("timestamp outside the tolerance")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    for part in headers["webhook-signature"].split(" "):
        version, _, signature = part.partition(",")
        if version != "v1a":
            continue
        try:
            network_key.verify(base64.b64decode(signature), signed)
            return True
        except InvalidSignature:
            pass
    return False


arrived = queue.Queue()


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        ok = verify(headers, body)
        # A body changed in transit must not verify.
        assert not verify(headers, body + b" "), "a changed body verified"
        self.send_response(204 if ok else 400)
        self.end_headers()
        arrived.put((ok, headers["webhook-id"], json.loads(body)))

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/coalition"

r = call("PUT", "/v1/webhooks", {"url": url, "events": ["entry.posted"]})
print(f"PUT /v1/webhooks -> {r.status_code}")
assert r.status_code == 200, r.text
assert r.json()["signing"]["public_key"] == "whpk_" + base64.b64encode(network_key.public_bytes_raw()).decode()

member = call("POST", "/v1/members", {"external_id": "hooks-" + str(uuid.uuid4())}).json()["member_id"]
posted = []
for points in ("5", "7"):
    r = call("POST", "/v1/earn", {"member_id": member, "points": points, "reference": "hook"})
    assert r.status_code == 201, r.text
    posted.append(r.json()["entry_id"])

got = []
while len(got) < len(posted):
    ok, msg_id, event = arrived.get(timeout=60)
    print(f"received {event['type']} {msg_id}: signature {'verified' if ok else 'REFUSED'}")
    assert ok, "a v1a signature did not verify"
    assert event["type"] == "entry.posted" and "timestamp" in event, event
    got.append(event["data"]["entry_id"])
assert got == posted, (got, posted)
deliveries = call("GET", "/v1/webhooks/deliveries").json()["items"]
assert all(d["state"] == "delivered" for d in deliveries), deliveries
print("webhooks interop ok:", len(got), "events verified with the network key")
