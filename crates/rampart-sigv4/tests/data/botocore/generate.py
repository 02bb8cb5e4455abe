#!/usr/bin/env python3
"""Regenerate the botocore-signed vectors in this directory.

Signs a few API-Gateway-style (`execute-api`) requests with botocore's own
SigV4Auth / SigV4QueryAuth at a fixed time and writes, per case:
  NAME.sreq  the signed request as it goes on the wire (request line, headers,
             blank line, body)
  NAME.creq  botocore's canonical request
  NAME.sts   botocore's string to sign
  NAME.meta  key=value lines: service, region, unix_time, token (if any)
Run: python3 generate.py   (tested with botocore 1.43.11)
"""
import datetime
import os
from urllib.parse import urlsplit

import botocore.auth
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE/token+with=padding//=="
NOW = datetime.datetime(2024, 2, 29, 23, 59, 59, tzinfo=datetime.timezone.utc)
botocore.auth.get_current_datetime = lambda: NOW


def capture(cls):
    class Capturing(cls):
        def string_to_sign(self, request, canonical_request):
            sts = super().string_to_sign(request, canonical_request)
            self.captured = (canonical_request, sts)
            return sts

    return Capturing


def emit(name, auth, method, url, headers=None, data=None, token=None):
    req = AWSRequest(method=method, url=url, data=data, headers=headers or {})
    auth.add_auth(req)
    p = req.prepare()
    parts = urlsplit(p.url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    lines = [f"{p.method} {target} HTTP/1.1", f"Host:{parts.netloc}"]
    for k, v in p.headers.items():
        lines.append(f"{k}:{v}")
    body = p.body or b""
    if isinstance(body, str):
        body = body.encode()
    with open(os.path.join(HERE, name + ".sreq"), "wb") as f:
        f.write(("\n".join(lines) + "\n\n").encode() + body)
    creq, sts = auth.captured
    with open(os.path.join(HERE, name + ".creq"), "w") as f:
        f.write(creq)
    with open(os.path.join(HERE, name + ".sts"), "w") as f:
        f.write(sts)
    with open(os.path.join(HERE, name + ".meta"), "w") as f:
        f.write(f"service={auth._service_name}\nregion={auth._region_name}\n")
        f.write(f"unix_time={int(NOW.timestamp())}\n")
        if token:
            f.write(f"token={token}\n")


plain = Credentials(AKID, SECRET)
temp = Credentials(AKID, SECRET, TOKEN)
host = "https://abc123.execute-api.eu-west-1.amazonaws.com"

emit("post-json-query", capture(SigV4Auth)(plain, "execute-api", "eu-west-1"),
     "POST", host + "/prod/pets?b=2&a=1&a=0&empty=",
     {"Content-Type": "application/json", "X-Custom": "  a   b  "},
     b'{"name":"rex","tags":["x","y"]}')
emit("get-encoded-path-token", capture(SigV4Auth)(temp, "execute-api", "eu-west-1"),
     "GET", host + "/prod/items/a%3Ab/%C3%A9t%C3%A9/~x?q=hello%20world&x=%2B",
     token=TOKEN)
emit("put-binary-body", capture(SigV4Auth)(plain, "execute-api", "eu-west-1"),
     "PUT", host + "/prod/blob/1",
     {"Content-Type": "application/octet-stream"}, bytes(range(256)))
emit("presigned-get-token", capture(SigV4QueryAuth)(temp, "execute-api", "eu-west-1", expires=900),
     "GET", host + "/prod/report?format=csv&since=2024-01-01T00%3A00%3A00Z", token=TOKEN)
emit("presigned-get", capture(SigV4QueryAuth)(plain, "execute-api", "eu-west-1"),
     "GET", host + "/prod/report")
