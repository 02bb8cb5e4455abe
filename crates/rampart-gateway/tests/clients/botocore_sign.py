#!/usr/bin/env python3
"""Sign requests with botocore, as an AWS SDK would, for the gateway's SigV4 tests.

Reads a JSON array of requests on stdin, one object each:
  {"method", "url", "headers": {..}, "body": "<text>", "access_key", "secret",
   "token": optional, "region", "service", "presign": optional seconds,
   "timestamp": optional "YYYYMMDDTHHMMSSZ" (sign as if at that time)}
Prints a JSON array of signed requests: {"method", "url", "headers": [[k, v], ...], "body"}.
Nothing is sent: the Rust test sends the bytes itself (and tampers with them).
"""
import datetime
import json
import sys
from unittest import mock

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(r):
    creds = Credentials(r["access_key"], r["secret"], r.get("token"))
    req = AWSRequest(method=r["method"], url=r["url"], data=r.get("body", "").encode(),
                     headers=r.get("headers", {}))
    if r.get("presign"):
        auth = SigV4QueryAuth(creds, r["service"], r["region"], expires=int(r["presign"]))
    else:
        auth = SigV4Auth(creds, r["service"], r["region"])
    ts = r.get("timestamp")
    if ts:
        when = datetime.datetime.strptime(ts, "%Y%m%dT%H%M%SZ")
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            auth.add_auth(req)
    else:
        auth.add_auth(req)
    p = req.prepare()
    body = p.body or b""
    if isinstance(body, str):
        body = body.encode()
    return {"method": p.method, "url": p.url, "headers": [[k, v] for k, v in p.headers.items()],
            "body": body.decode()}


def main():
    print(json.dumps([sign(r) for r in json.load(sys.stdin)]))


if __name__ == "__main__":
    main()
