#!/usr/bin/env python3
"""Build bench/waf/corpus/benign-api.jsonl: realistic, benign API traffic for measuring a WAF's
false-positive rate (the CRS regression corpus has only 200 benign lines, and many of them are
not harmless requests).

Deterministic: a fixed seed and no clock, so the same file comes out on every run:
    python3 bench/waf/build_benign.py            # writes bench/waf/corpus/benign-api.jsonl
    python3 bench/waf/build_benign.py --check    # fails if the committed file is stale

Record format (the one bench/waf/waf-replay.py reads): one JSON object a line with
  id, source ("benign-api"), category ("benign:<kind>"), kind ("benign"), method, path,
  query (raw, already percent-encoded, or absent), version, headers (Host included;
  Content-Length is added by the replayer), body (text) or body_b64, exact (false),
  placement (where the interesting content sits), meta.hard (true when the request contains
  something a naive WAF mistakes for an attack: apostrophes, SQL words, shell-like or
  code-like text, HTML, markdown, template syntax...) and meta.why (what makes it hard).

Everything here was written for Rampart; no request is copied from a third-party corpus.
"""
import argparse
import base64
import hashlib
import json
import os
import random
import sys
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "benign-api.jsonl")
SEED = 20240521

R = random.Random(SEED)

# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------

HOSTS = ["api.example.com", "api.shop.example", "app.example.org", "internal-api.example.net",
         "graphql.example.com", "www.example.com"]

UA_BROWSER = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.199 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.61",
]
UA_SDK = [
    "curl/8.4.0",
    "curl/7.88.1",
    "python-requests/2.31.0",
    "python-httpx/0.25.2",
    "aws-sdk-js/2.1490.0 linux/v18.18.2 exec-env/AWS_Lambda_nodejs18.x promise",
    "aws-sdk-js/3.470.0 ua/2.0 os/darwin#23.1.0 lang/js md/nodejs#20.10.0 api/s3#3.470.0",
    "Boto3/1.33.6 md/Botocore#1.33.6 ua/2.0 os/linux#5.10.199 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.33.6",
    "okhttp/4.12.0",
    "Go-http-client/1.1",
    "Go-http-client/2.0",
    "PostmanRuntime/7.36.0",
    "axios/1.6.2",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "Apache-HttpClient/4.5.14 (Java/17.0.9)",
    "Java-http-client/17.0.9",
    "Dalvik/2.1.0 (Linux; U; Android 13; SM-S911B Build/TP1A.220624.014)",
    "ShopApp/3.14.2 (iPhone; iOS 17.1.2; Scale/3.00)",
    "ShopApp/3.14.2 (Android 14; Pixel 7)",
    "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    "GitHub-Hookshot/7c5f1a2",
    "Slackbot 1.0 (+https://api.slack.com/robots)",
    "Terraform/1.6.5 terraform-provider-http/3.4.0",
    "k6/0.48.0 (https://k6.io/)",
    "Wget/1.21.3",
    "Ruby",
    "Faraday v2.7.12",
    "Dart/3.2 (dart:io)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]

FIRST = ["Alice", "Bob", "Chloé", "Dmitri", "Emeka", "Fatima", "Guillaume", "Hana", "Ingrid", "João",
         "Kwame", "Li", "María José", "Nikolai", "Olivia", "Priya", "Quentin", "Renée", "Siobhán", "Tomás",
         "Uma", "Valentina", "Wei", "Xavier", "Yuki", "Zoë", "Seán", "Ngozi", "Björn", "Aoife"]
LAST = ["O'Brien", "D'Angelo", "Müller", "Smith-Jones", "Nguyen", "García", "O'Connor", "Kowalski",
        "van der Berg", "Al-Hassan", "Østergaard", "Dubois", "McAllister", "Tanaka", "Ivanova",
        "Okafor", "Fitzgerald", "D'Souza", "Papadopoulos", "Zhang", "Le Blanc", "Da Silva", "Öztürk",
        "St. John", "MacDonald", "N'Diaye", "Andersson", "L'Heureux", "Yılmaz", "Rossi"]
CITIES = [("Dublin", "IE"), ("Lyon", "FR"), ("München", "DE"), ("São Paulo", "BR"), ("Kraków", "PL"),
          ("Osaka", "JP"), ("Lagos", "NG"), ("Reykjavík", "IS"), ("Montréal", "CA"), ("Austin", "US"),
          ("Zürich", "CH"), ("Bengaluru", "IN"), ("Cork", "IE"), ("Coeur d'Alene", "US"), ("L'Aquila", "IT")]
STREETS = ["12 Rue de l'Église", "1600 Amphitheatre Pkwy", "221B Baker Street", "Apt #4B, 77 Mass Ave",
           "Unit 3/15 O'Connell St", "Flat 2, 10 Downing's Lane", "Hauptstraße 5", "Av. Paulista, 1578 - Bela Vista",
           "PO Box 1024", "4th Floor, 1 Union Square", "15 Select Road", "8 Drop Lane", "3 Order Street",
           "Ste. 100 - 500 Where Ave", "Calle d'en Robador 25"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "company.example", "uni.example.edu"]

# Search terms and free text that look like attacks to a naive filter but are ordinary input.
HARD_SEARCH = [
    "O'Brien", "select a plan", "drop shipping", "union station", "1 or 2 items", "where to eat",
    "rock 'n' roll", "DELETE key not working", "--verbose flag", "Let's Encrypt certificate",
    "can't log in", "mom's recipes", "Tom & Jerry", "AT&T prepaid", "100% cotton", "50% off",
    "script writing tips", "javascript tutorial for beginners", "alert settings", "on-call schedule",
    "iframe embed code youtube", "cat food", "ls 430 lexus", "who am i tv show", "echo dot 5th gen",
    "ping pong table", "curl hair routine", "kill bill vol 2", "sleep apnea", "update billing address",
    "insert coin", "create table plans", "table for 2 or 3", "or else", "select * from", "null pointer",
    "order by price", "group by team", "having a baby", "shutdown windows 11", "exec summary template",
    "c++ vs c#", "1/2 price", "x < 5", "a <= b", "1=1 chess", "\"quoted phrase\"", "don't panic", "its 5 o'clock",
    "5' 10\" height", "it's ok", "Guns N' Roses", "the customers' and suppliers' data", "Ben & Jerry's",
    "fish 'n' chips", "user's guide", "what's new in 2.0", "C:\\Users\\public documents", "/home directory",
    "$5 coupon", "#1 best seller", "@mentions", "emoji 😀 search", "日本語 検索", "café crème",
    "<3", "2 > 1", "java runtime download", "python exec function", "php include path", "bash vs zsh",
    "system requirements", "wget for windows", "eval board", "passwd command", "etc etc", "root cause",
    "admin assistant jobs", "union jack flag", "drop-down menu", "insert key", "truncate text css",
    "declare variable", "char limit", "sql injection prevention", "xss protection header",
    "how to use sudo", "../ meaning in path",
]

COMPANY_WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Cyberdyne",
                 "Tyrell", "Soylent", "Vandelay"]
PRODUCTS = ["USB-C cable (2 m)", "Men's running shoes", "Women's rain jacket", "Kids' lunch box",
            "4K monitor 27\"", "Chef's knife 8\"", "Coffee beans - 1 kg", "Yoga mat (6 mm)",
            "Drop-in sink", "Select Comfort pillow", "Union Suit Classic", "Rock 'n' Roll T-shirt",
            "Cat tree, 5 levels", "Table lamp w/ dimmer", "Echo Dot (5th Gen)", "Script font pack",
            "Ping-pong paddles x2", "1/2\" drill bit set", "Sleep mask & earplugs", "Java coffee mug"]
TAGS = ["new", "sale", "eco", "bestseller", "limited", "gift", "b2b", "clearance", "pre-order"]
STATUSES = ["active", "pending", "shipped", "delivered", "cancelled", "refunded", "on_hold"]


def uid():
    return str(uuid.UUID(int=R.getrandbits(128), version=4))


def hexid(n=24):
    return "".join(R.choice("0123456789abcdef") for _ in range(n))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def iso(day_offset=None):
    d = R.randint(1, 28) if day_offset is None else day_offset
    return f"2024-{R.randint(1, 12):02d}-{d:02d}T{R.randint(0, 23):02d}:{R.randint(0, 59):02d}:{R.randint(0, 59):02d}" + \
        R.choice(["Z", ".123Z", "+02:00", "-05:00", ".000000Z"])


def person():
    f, l = R.choice(FIRST), R.choice(LAST)
    local = (f.split()[0] + "." + l).lower().replace("'", "").replace(" ", "").replace("ö", "o") \
        .replace("ü", "u").replace("ø", "o").replace("é", "e").replace("ı", "i").replace("ã", "a")
    if R.random() < 0.3:
        local = local.replace(".", "+" + R.choice(["news", "shop", "test", "work"]) + ".", 1)
    email = f"{local}@{R.choice(DOMAINS)}"
    return f, l, email


def jwt():
    header = {"alg": R.choice(["RS256", "ES256", "HS256"]), "typ": "JWT", "kid": hexid(16)}
    claims = {"iss": R.choice(["https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab12Cd34E",
                               "https://auth.example.com/", "https://accounts.google.com"]),
              "sub": uid(), "aud": R.choice(["shop-web", "3n4b5k6l7m8n9o0p1q2r3s4t5u", "api://default"]),
              "exp": 1716000000 + R.randint(0, 10 ** 7), "iat": 1715990000 + R.randint(0, 10 ** 6),
              "scope": R.choice(["openid profile email", "orders:read orders:write", "read:users admin:none"]),
              "email": person()[2], "cognito:groups": R.choice([["customers"], ["staff", "support"], []])}
    sig = bytes(R.getrandbits(8) for _ in range(R.choice([64, 256])))
    return ".".join([b64url(json.dumps(header, separators=(",", ":")).encode()),
                     b64url(json.dumps(claims, separators=(",", ":")).encode()), b64url(sig)])


def cookies_browser():
    parts = [f"session={hexid(32)}",
             f"_ga=GA1.2.{R.randint(10 ** 8, 10 ** 9)}.{R.randint(1.6e9, 1.72e9):.0f}",
             f"_gid=GA1.2.{R.randint(10 ** 8, 10 ** 9)}.{R.randint(1.6e9, 1.72e9):.0f}"]
    extra = [f"_fbp=fb.1.{R.randint(10 ** 12, 10 ** 13)}.{R.randint(10 ** 8, 10 ** 9)}",
             f"csrftoken={b64url(bytes(R.getrandbits(8) for _ in range(24)))}",
             "theme=dark", "lang=en-US", "tz=Europe%2FDublin",
             "cart=%7B%22items%22%3A3%2C%22currency%22%3A%22EUR%22%7D",
             "consent=analytics%3Atrue%2Cmarketing%3Afalse",
             f"AWSALB={b64url(bytes(R.getrandbits(8) for _ in range(60)))}",
             f"remember_token={b64url(bytes(R.getrandbits(8) for _ in range(40)))}",
             "recently_viewed=sku-1234%2Csku-9876%2Csku-5555",
             "ab_test=checkout_v2%3Dvariant_b", "last_search=rock%20%27n%27%20roll",
             "intercom-session-abc123=" + b64url(bytes(R.getrandbits(8) for _ in range(30))),
             "cookie_notice_accepted=true", "sidebar_collapsed=false",
             "_hjSessionUser_123456=" + base64.b64encode(json.dumps(
                 {"id": uid(), "created": 1700000000000, "existing": True}).encode()).decode()]
    parts += R.sample(extra, R.randint(1, 5))
    R.shuffle(parts)
    return "; ".join(parts)


def qenc(d):
    return urllib.parse.urlencode(d, quote_via=urllib.parse.quote)


def accept_json():
    return R.choice(["application/json", "application/json, text/plain, */*", "*/*",
                     "application/vnd.api+json", "application/json;q=0.9, */*;q=0.8"])


RECORDS = []
COUNTERS = {}


def add(category, method, path, query=None, headers=None, body=None, body_b64=None, placement="none",
        hard=False, why=None, ua=None, host=None, content_type=None):
    n = COUNTERS.get(category, 0) + 1
    COUNTERS[category] = n
    h = {"Host": host or R.choice(HOSTS[:4]),
         "User-Agent": ua or R.choice(UA_SDK + UA_BROWSER)}
    if headers:
        h.update(headers)
    if "Accept" not in h:
        h["Accept"] = accept_json()
    if content_type:
        h["Content-Type"] = content_type
    rec = {"id": f"benign-{category.split(':', 1)[1]}-{n:03d}", "source": "benign-api",
           "category": category, "kind": "benign", "method": method, "path": path}
    if query is not None:
        rec["query"] = query
    rec["version"] = "HTTP/1.1"
    rec["headers"] = h
    if body is not None:
        rec["body"] = body
    if body_b64 is not None:
        rec["body_b64"] = body_b64
    rec["exact"] = False
    rec["placement"] = placement
    rec["meta"] = {"hard": bool(hard)}
    if why:
        rec["meta"]["why"] = why
    RECORDS.append(rec)


def jdump(o, pretty=False):
    if pretty:
        return json.dumps(o, ensure_ascii=R.random() < 0.3, indent=2)
    return json.dumps(o, ensure_ascii=R.random() < 0.3, separators=(",", ":") if R.random() < 0.5 else (", ", ": "))


def auth_headers():
    r = R.random()
    if r < 0.55:
        return {"Authorization": "Bearer " + jwt()}
    if r < 0.75:
        return {"x-api-key": b64url(bytes(R.getrandbits(8) for _ in range(30)))}
    if r < 0.85:
        return {"Authorization": "Basic " + base64.b64encode(
            f"{person()[2]}:{hexid(20)}".encode()).decode()}
    return {}


def extra_headers():
    h = {}
    if R.random() < 0.5:
        h["Accept-Encoding"] = R.choice(["gzip, deflate, br", "gzip", "br;q=1.0, gzip;q=0.8, *;q=0.1"])
    if R.random() < 0.4:
        h["Accept-Language"] = R.choice(["en-US,en;q=0.9", "fr-FR,fr;q=0.9,en;q=0.8", "de-DE", "ja,en-US;q=0.7",
                                         "pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7"])
    if R.random() < 0.3:
        h["X-Request-Id"] = uid()
    if R.random() < 0.2:
        h["traceparent"] = f"00-{hexid(32)}-{hexid(16)}-01"
    if R.random() < 0.15:
        h["X-Forwarded-For"] = f"203.0.113.{R.randint(1, 254)}, 10.0.{R.randint(0, 9)}.{R.randint(1, 254)}"
    if R.random() < 0.1:
        h["If-None-Match"] = f'W/"{hexid(16)}"'
    if R.random() < 0.1:
        h["Cache-Control"] = R.choice(["no-cache", "max-age=0"])
    return h


# ---------------------------------------------------------------------------------------------
# Generators, one per category
# ---------------------------------------------------------------------------------------------

def address():
    city, cc = R.choice(CITIES)
    return {"line1": R.choice(STREETS), "line2": R.choice([None, "", "c/o Reception", "Floor 3"]),
            "city": city, "postal_code": R.choice(["D02 X285", "69002", "80331", "01310-200", "31-042",
                                                   "530-0001", "101233", "H2X 1Y4", "78701", "8001"]),
            "country": cc}


def gen_json_api(n):
    for i in range(n):
        kind = R.choice(["user_create", "user_update", "order_create", "order_patch", "product_put",
                         "get_one", "get_list", "delete", "comment", "settings", "bulk", "address"])
        hard = False
        why = []
        h = auth_headers()
        h.update(extra_headers())
        if kind == "user_create":
            f, l, email = person()
            body = {"first_name": f, "last_name": l, "email": email, "phone": f"+353 {R.randint(80, 89)} {R.randint(100, 999)} {R.randint(1000, 9999)}",
                    "address": address(), "marketing_opt_in": R.random() < 0.5, "locale": R.choice(["en-IE", "fr-FR", "pt-BR"]),
                    "metadata": {"signup_source": R.choice(["web", "ios", "android", "partner:acme"]),
                                 "referrer": R.choice(["https://www.google.com/", "https://news.example.org/article?id=42&ref=share", None])}}
            if "'" in l or "'" in body["address"]["line1"]:
                hard, why = True, ["apostrophe in a name or address"]
            add("benign:json-api", "POST", "/v1/users", headers=h, body=jdump(body), content_type="application/json",
                placement="body-json", hard=hard, why=why)
        elif kind == "user_update":
            f, l, email = person()
            body = {"display_name": f"{f} {l}", "bio": R.choice([
                "Backend dev. I break things; then fix them.", "Runner, reader, rock 'n' roll fan.",
                "Ex-DBA: I've written more SELECTs than emails.", "He/him. Opinions my own -- mostly.",
                "Lover of cats & coffee ☕", "Co-founder @ Hooli. Previously @ Initech.",
                "Ask me about drop shipping or union negotiations.", "1 or 2 talks a year; mostly on caching."]),
                "website": R.choice(["https://alice.example.com", "https://github.com/alice-dev", "http://blog.example.org/~bob/"]),
                "timezone": R.choice(["Europe/Dublin", "America/Sao_Paulo", "Asia/Tokyo"])}
            hard, why = True, ["free-text bio with apostrophes and SQL-like words"]
            add("benign:json-api", R.choice(["PATCH", "PUT"]), f"/v1/users/{uid()}", headers=h, body=jdump(body),
                content_type="application/json", placement="body-json", hard=hard, why=why)
        elif kind == "order_create":
            items = [{"sku": f"SKU-{R.randint(1000, 9999)}-{R.choice('ABCDEFG')}", "name": R.choice(PRODUCTS),
                      "quantity": R.randint(1, 5), "unit_price": {"amount": R.randint(199, 99999), "currency": R.choice(["EUR", "USD", "BRL"])},
                      "options": R.choice([{}, {"size": R.choice(["S", "M", "L", "10.5"])}, {"color": "midnight blue", "engraving": "To Mum, love B. xx"}])}
                     for _ in range(R.randint(1, 4))]
            body = {"customer_id": uid(), "items": items, "shipping_address": address(),
                    "coupon": R.choice([None, "SPRING-24", "WELCOME10", "50%OFF"]),
                    "notes": R.choice(["", "Leave at the back door, please", "Ring twice -- dog's friendly!",
                                       "Gift: don't include the receipt", "Call 555-0100 or 555-0199 on arrival",
                                       "Deliver between 9 and 5; select 'leave with neighbour' if out"]),
                    "gift": R.random() < 0.2, "created_at": iso(), "idempotency_key": uid()}
            if any("'" in it["name"] or '"' in it["name"] for it in items) or "'" in body["notes"]:
                hard, why = True, ["quotes in product names or delivery notes"]
            add("benign:json-api", "POST", "/v1/orders", headers=h, body=jdump(body), content_type="application/json",
                placement="body-json", hard=hard, why=why)
        elif kind == "order_patch":
            body = R.choice([{"status": R.choice(STATUSES)},
                             {"status": "cancelled", "reason": "Customer changed their mind; refund to original card"},
                             {"op": "replace", "path": "/shipping_address/line1", "value": R.choice(STREETS)},
                             [{"op": "add", "path": "/tags/-", "value": R.choice(TAGS)},
                              {"op": "remove", "path": "/tags/0"}]])
            ct = "application/json-patch+json" if isinstance(body, list) or "op" in body else "application/json"
            hard = "'" in json.dumps(body) or ";" in json.dumps(body)
            add("benign:json-api", "PATCH", f"/v1/orders/{R.randint(100000, 999999)}", headers=h, body=jdump(body),
                content_type=ct, placement="body-json", hard=hard, why=["punctuation in free text"] if hard else None)
        elif kind == "product_put":
            name = R.choice(PRODUCTS)
            body = {"name": name, "slug": name.lower().replace(" ", "-").replace("'", "").replace('"', "")[:40],
                    "description": R.choice([
                        "Our best-selling <b>cotton</b> tee. 100% organic; machine-wash at 30°C.",
                        "Fits 13\" & 15\" laptops. Water-resistant (not waterproof!).",
                        "Select your size below. Drop us a line if you're unsure -- we'll help.",
                        "Union-made in Portland, OR. Ships in 1 or 2 days.",
                        "Note: the 'Pro' model isn't compatible with v1 docks.",
                        "Includes: 1x base, 2x arms, 4x screws (M4 x 10 mm) & an Allen key."]),
                    "price": round(R.uniform(3, 900), 2), "currency": "EUR", "in_stock": R.random() < 0.8,
                    "tags": R.sample(TAGS, R.randint(0, 3)), "dimensions_cm": [R.randint(1, 80) for _ in range(3)],
                    "images": [f"https://cdn.example.com/img/{hexid(12)}@2x.jpg?w=800&q=80" for _ in range(R.randint(1, 3))],
                    "attributes": {"material": R.choice(["cotton", "steel", "oak", "PET (recycled)"]), "weight_g": R.randint(5, 5000)},
                    "updated_at": iso()}
            hard = True
            add("benign:json-api", "PUT", f"/v1/products/{R.randint(1, 50000)}", headers=h, body=jdump(body, pretty=R.random() < 0.3),
                content_type="application/json", placement="body-json", hard=hard,
                why=["quotes, HTML and SQL-like words in a product description"])
        elif kind == "get_one":
            res = R.choice(["users", "orders", "products", "invoices", "customers", "tickets", "projects"])
            rid = R.choice([uid(), str(R.randint(1, 10 ** 7)), f"ord_{hexid(14)}", f"cus_{hexid(14)}"])
            q = R.choice([None, "expand=customer,items", "include=author&fields[author]=name,email",
                          "fields=id,name,created_at", "version=2"])
            add("benign:json-api", "GET", f"/v1/{res}/{rid}", query=q, headers=h, placement="path")
        elif kind == "get_list":
            res = R.choice(["users", "orders", "products", "events", "invoices", "audit-logs"])
            params = {"page": R.randint(1, 40), R.choice(["per_page", "limit", "page_size"]): R.choice([10, 20, 50, 100]),
                      "sort": R.choice(["-created_at", "name", "price,-rating", "updated_at:desc"])}
            if R.random() < 0.5:
                params["filter[status]"] = R.choice(STATUSES)
            if R.random() < 0.4:
                params["created_after"] = iso()
            if R.random() < 0.3:
                params["cursor"] = b64url(json.dumps({"id": R.randint(1, 10 ** 6), "ts": iso()}).encode())
            if R.random() < 0.2:
                params["ids"] = ",".join(str(R.randint(1, 9999)) for _ in range(R.randint(2, 6)))
            add("benign:json-api", "GET", f"/v1/{res}", query=qenc(params), headers=h, placement="query")
        elif kind == "delete":
            add("benign:json-api", "DELETE", f"/v1/{R.choice(['users', 'carts', 'sessions', 'webhooks'])}/{uid()}",
                headers=h, placement="path")
        elif kind == "comment":
            text = R.choice([
                "Great product! Didn't expect it to arrive so fast. 5/5 would buy again.",
                "Doesn't work with my Mac; the 'select' button does nothing & the app freezes.",
                "Bought 2 -- one for me, one for my mother-in-law. She's thrilled :)",
                "Warning: size runs small. Order 1 or 2 sizes up!",
                "It's OK... not great. Drop the price and I'd recommend it.",
                "Where to start? Packaging was damaged; item was fine though.",
                "Use code \"SAVE10\" at checkout -- worked for me on 03/14.",
                "I'd rate it 4.5/5; the \"quick start\" guide is confusing (step #3).",
                "Ordered on Monday, got it Wednesday. Union Station pickup point was easy.",
                "Our team's go-to cable. We've ordered 30+ of them."])
            body = {"rating": R.randint(1, 5), "title": text.split(".")[0][:60], "body": text,
                    "author": {"name": " ".join(person()[:2]), "verified_buyer": R.random() < 0.7},
                    "photos": []}
            add("benign:json-api", "POST", f"/v1/products/{R.randint(1, 50000)}/reviews", headers=h, body=jdump(body),
                content_type="application/json", placement="body-json", hard=True,
                why=["review text with quotes, SQL-like words and punctuation"])
        elif kind == "settings":
            body = {"notifications": {"email": R.random() < 0.5, "sms": False, "push": {"enabled": True, "quiet_hours": ["22:00", "07:00"]}},
                    "privacy": {"profile_visibility": R.choice(["public", "friends", "private"])},
                    "ui": {"theme": R.choice(["dark", "light", "system"]), "density": "compact", "shortcuts": {"delete": "Del", "select_all": "Ctrl+A", "search": "/"}},
                    "integrations": [{"type": "slack", "webhook_url": f"https://hooks.slack.com/services/T{hexid(8).upper()}/B{hexid(8).upper()}/{hexid(24)}"}]}
            add("benign:json-api", "PUT", "/v1/me/settings", headers=h, body=jdump(body), content_type="application/json",
                placement="body-json", hard=True, why=["URLs, keyboard shortcut names (Del, select_all) in values"])
        elif kind == "bulk":
            rows = [{"id": R.randint(1, 10 ** 6), "email": person()[2], "active": R.random() < 0.8, "score": round(R.random() * 100, 3),
                     "tags": R.sample(TAGS, 2), "last_login": iso() if R.random() < 0.8 else None}
                    for _ in range(R.randint(15, 45))]
            add("benign:json-api", "POST", "/v1/users/bulk-upsert", headers=h, body=jdump({"rows": rows, "dry_run": False}),
                content_type="application/json", placement="body-json")
        else:
            f, l, email = person()
            body = {"name": f"{f} {l}", "company": R.choice(["", f"{R.choice(COMPANY_WORDS)} & Sons Ltd.", "O'Reilly Media"]),
                    **address(), "instructions": R.choice(["", "Buzz #4B", "Side door (it's green)", "Leave at reception; ask for 'Dee'"])}
            add("benign:json-api", "POST", f"/v1/customers/{uid()}/addresses", headers=h, body=jdump(body),
                content_type="application/json", placement="body-json", hard="'" in json.dumps(body),
                why=["apostrophes in names and addresses"] if "'" in json.dumps(body) else None)


def gen_search(n):
    for i in range(n):
        h = extra_headers()
        if R.random() < 0.5:
            h["Cookie"] = cookies_browser()
        term = R.choice(HARD_SEARCH) if R.random() < 0.7 else R.choice(
            ["red shoes", "usb c hub", "winter jacket", "gift ideas for dad", "best sellers", "standing desk",
             "noise cancelling headphones", "rain boots size 9", "organic tea", "camping stove"])
        hard = term in HARD_SEARCH
        params = {R.choice(["q", "query", "search", "term", "keywords"]): term}
        if R.random() < 0.6:
            params["page"] = R.randint(1, 10)
        if R.random() < 0.4:
            params["sort"] = R.choice(["relevance", "price_asc", "-date", "rating desc"])
        if R.random() < 0.3:
            params["category"] = R.choice(["home & garden", "men's", "kids' toys", "books/fiction", "select-brands"])
        if R.random() < 0.3:
            params["price_min"], params["price_max"] = R.randint(0, 50), R.randint(60, 500)
        if R.random() < 0.2:
            params["in_stock"] = "true"
        enc = R.random()
        if enc < 0.5:
            q = urllib.parse.urlencode(params)                              # spaces as '+'
        elif enc < 0.9:
            q = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)  # spaces as %20
        else:
            q = urllib.parse.urlencode(params, safe="'(),*!", quote_via=urllib.parse.quote)  # apostrophes raw
        path = R.choice(["/v1/search", "/api/search", "/search", "/v2/products/search", "/help/articles/search",
                         "/v1/catalog/items"])
        ua = R.choice(UA_BROWSER) if R.random() < 0.6 else None
        add("benign:search", "GET", path, query=q, headers=h, placement="query", hard=hard,
            why=[f"search term {term!r}"] if hard else None, ua=ua)
    # Search as a POST with a JSON filter document.
    for i in range(n // 4):
        term = R.choice(HARD_SEARCH)
        body = {"query": term, "filters": {"price": {"gte": R.randint(0, 20), "lte": R.randint(50, 300)},
                                           "brand": R.sample(COMPANY_WORDS, 2), "rating": {"gt": 3}},
                "sort": [{"field": "score", "order": "desc"}, {"field": "updated_at", "order": "asc"}],
                "page": {"size": 24, "after": b64url(hexid(16).encode())}, "highlight": True}
        add("benign:search", "POST", "/v1/search", headers=auth_headers(), body=jdump(body), content_type="application/json",
            placement="body-json", hard=True, why=[f"search term {term!r} in a JSON body"])


def gen_forms(n):
    for i in range(n):
        f, l, email = person()
        kind = R.choice(["login", "signup", "contact", "newsletter", "oauth", "password_reset", "checkout"])
        h = extra_headers()
        h["Cookie"] = cookies_browser()
        h["Origin"] = "https://www.example.com"
        h["Referer"] = R.choice(["https://www.example.com/login", "https://www.example.com/contact?from=footer",
                                 "https://www.example.com/signup?plan=pro&utm_source=newsletter&utm_medium=email"])
        hard = False
        why = None
        if kind == "login":
            pw = R.choice(["S3cr3t!#", "correct horse battery staple", "P@ssw0rd'2024", "hunter2", "--Tr0ub4dor&3",
                           "O'Brien1987!", "select*from", "a<b>c;d|e", "I<3Dublin"])
            form = {"username": email, "password": pw, "remember_me": R.choice(["on", "1", "true"]),
                    "csrf_token": b64url(bytes(R.getrandbits(8) for _ in range(32)))}
            hard = any(c in pw for c in "'<>;|&*-")
            why = ["password with punctuation"] if hard else None
            path = R.choice(["/login", "/auth/login", "/session"])
        elif kind == "signup":
            form = {"first_name": f, "last_name": l, "email": email, "password": "Zx9!" + hexid(10),
                    "company": R.choice(["", "O'Reilly Media", "Ben & Jerry's", "AT&T", "Select Hotels Group"]),
                    "plan": R.choice(["free", "pro", "enterprise"]), "terms": "accepted"}
            hard = "'" in l or "'" in form["company"] or "&" in form["company"]
            why = ["apostrophe or ampersand in name/company"] if hard else None
            path = "/signup"
        elif kind == "contact":
            msg = R.choice([
                "Hi, I can't log in -- the page says 'error 500' & nothing works. Tried select 'forgot password' too.",
                "Hello! Where do I find my invoices? I need the ones from Q1 or Q2 (2023).",
                "Your DELETE key shortcut doesn't work on Firefox; I use ctrl+shift+del instead.",
                "Please drop me from the mailing list. Thanks!",
                "Question: does the API support union types in the schema? e.g. string | number",
                "I was charged twice for order #48213; please refund one of them.",
                "Can you add a --verbose flag to the CLI? The default output is too terse.",
                "My name is Seán Ó Briain (with the fada). Your form turns it into 'Se?n' :(",
                "Our address: 4th Floor, 1 Union Square; deliveries via the back entrance.",
                "Hey team,\nloving the product.\n\nOne request: dark mode?\n\n-- Priya"])
            form = {"name": f"{f} {l}", "email": email, "subject": R.choice(["Support", "Billing", "Feature request", "Other"]),
                    "message": msg}
            hard, why = True, ["free-text message with quotes and SQL/shell-like words"]
            path = R.choice(["/contact", "/support/tickets", "/api/contact"])
        elif kind == "newsletter":
            form = {"email": email, "lists[]": R.choice(["weekly", "product-updates"]), "source": "footer"}
            path = "/newsletter/subscribe"
        elif kind == "oauth":
            form = {"grant_type": R.choice(["authorization_code", "refresh_token", "client_credentials"]),
                    "code": b64url(bytes(R.getrandbits(8) for _ in range(24))),
                    "redirect_uri": "https://app.example.com/oauth/callback?next=/dashboard&tab=1",
                    "client_id": hexid(26), "code_verifier": b64url(bytes(R.getrandbits(8) for _ in range(32))),
                    "scope": "openid profile email offline_access"}
            path = "/oauth2/token"
            h["Authorization"] = "Basic " + base64.b64encode(f"{hexid(26)}:{hexid(40)}".encode()).decode()
        elif kind == "password_reset":
            form = {"email": email, "return_to": "https://www.example.com/account/security#password"}
            path = "/password/reset"
        else:
            form = {"card_name": f"{f} {l}", "address": R.choice(STREETS), "city": R.choice(CITIES)[0],
                    "gift_message": R.choice(["", "Happy b'day! <3", "For the best mum in the world :)", "Don't open 'til Xmas!"]),
                    "delivery": R.choice(["standard", "express"]), "accept_terms": "1"}
            hard = "'" in json.dumps(form, ensure_ascii=False) or "<" in form["gift_message"]
            why = ["quotes or '<3' in a gift message"] if hard else None
            path = "/checkout/confirm"
        body = urllib.parse.urlencode(form)
        add("benign:form", "POST", path, headers=h, body=body, content_type=R.choice(
            ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=UTF-8"]),
            placement="body-form", hard=hard, why=why, ua=R.choice(UA_BROWSER))


GQL = [
    ("query GetUser($id: ID!) {\n  user(id: $id) {\n    id\n    name\n    email\n    posts(first: 10, orderBy: {field: CREATED_AT, direction: DESC}) {\n      edges { node { id title publishedAt } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n}",
     lambda: {"id": uid()}),
    ("mutation UpdateProfile($input: UpdateProfileInput!) {\n  updateProfile(input: $input) {\n    user { id displayName bio }\n    errors { field message }\n  }\n}",
     lambda: {"input": {"displayName": " ".join(person()[:2]), "bio": "I'm a dev; I like SQL & shell scripts."}}),
    ("query Search($q: String!, $first: Int = 20, $after: String) {\n  search(query: $q, first: $first, after: $after) {\n    totalCount\n    nodes { ... on Product { id name price { amount currency } } ... on Article { id title } }\n  }\n}",
     lambda: {"q": R.choice(HARD_SEARCH), "first": 20, "after": None}),
    ("query { viewer { login repositories(first: 5, privacy: PUBLIC) { nodes { name stargazerCount } } } }", lambda: None),
    ("mutation AddToCart($sku: String!, $qty: Int!) { addToCart(sku: $sku, quantity: $qty) { cart { id items { sku quantity } total } } }",
     lambda: {"sku": f"SKU-{R.randint(1000, 9999)}", "qty": R.randint(1, 3)}),
    ("query Orders($status: [OrderStatus!], $where: OrderFilter) {\n  orders(status: $status, where: $where, orderBy: {createdAt: desc}) {\n    id total createdAt\n    customer { name email }\n  }\n}",
     lambda: {"status": ["SHIPPED", "DELIVERED"], "where": {"total_gt": 100, "OR": [{"city": "Dublin"}, {"city": "Cork"}]}}),
    ("query IntrospectionLite { __schema { queryType { name } types { name kind } } }", lambda: None),
    ("mutation DeleteComment($id: ID!) { deleteComment(id: $id) { success } }", lambda: {"id": uid()}),
    ("subscription OnMessage($room: ID!) { messageAdded(roomId: $room) { id text author { name } } }",
     lambda: {"room": uid()}),
    ("query Env($name: String) { featureFlag(name: $name) { enabled rollout } }",
     lambda: {"name": R.choice(["new-checkout", "dark-mode", "select_plan_v2"])}),
]


def gen_graphql(n):
    for i in range(n):
        qtext, var = R.choice(GQL)
        body = {"query": qtext, "variables": var(), "operationName": qtext.split("(")[0].split("{")[0].split()[-1]
                if not qtext.startswith("query {") else None}
        h = auth_headers()
        h.update(extra_headers())
        if R.random() < 0.15:
            # Persisted-query GET (Apollo style).
            q = qenc({"operationName": "GetUser", "variables": json.dumps({"id": uid()}),
                      "extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(qtext.encode()).hexdigest()}})})
            add("benign:graphql", "GET", "/graphql", query=q, headers=h, placement="query", hard=True,
                why=["JSON and GraphQL syntax in the query string"], host="graphql.example.com")
            continue
        add("benign:graphql", "POST", "/graphql", headers=h, body=jdump(body), content_type="application/json",
            placement="body-json", hard=True, why=["GraphQL: $variables, braces, (), keywords like query/mutation/delete"],
            host="graphql.example.com")


CONTENT = [
    ("Why we moved our API to Rust", "We rewrote the hot path in Rust. Here's the core loop:\n\n```rust\nfn handle(req: Request) -> Result<Response, Error> {\n    let user = db.get_user(req.user_id)?;\n    Ok(Response::json(&user))\n}\n```\n\nLatency dropped from 40 ms to 6 ms (p99)."),
    ("Python tips: reading files", "Use a context manager:\n\n```python\nwith open(\"data.csv\") as f:\n    for line in f:\n        name, score = line.strip().split(\",\")\n        print(f\"{name}: {score}\")\n```\n\nDon't forget `encoding=\"utf-8\"` on Windows!"),
    ("SQL basics for analysts", "To list active users, you'd write something like: SELECT name, email FROM users WHERE active = 1 ORDER BY name; -- and to count them, use COUNT(*). Joins come next week."),
    ("Rich text from the editor", "<p>Hello <strong>team</strong>,</p><p>The new <a href=\"https://docs.example.com/changelog#v2\" target=\"_blank\" rel=\"noopener\">changelog</a> is live. <em>Please</em> read it before Friday's release.</p><ul><li>Faster search</li><li>Dark mode</li></ul><img src=\"https://cdn.example.com/img/banner.png\" alt=\"Release banner\" width=\"600\">"),
    ("HTML-escaped snippet", "In HTML, write &lt;b&gt;bold&lt;/b&gt; for bold text and &amp;amp; for an ampersand. The &lt;script&gt; tag is covered in chapter 7."),
    ("Release notes 2.4", "## What's new\n\n- `--verbose` flag for the CLI\n- Fixed: DELETE /items/{id} returned 500 when the item didn't exist\n- Select menus now support keyboard navigation (↑/↓, Enter)\n\n> Thanks to @maria and @tomás for the patches!"),
    ("JavaScript debounce", "A tiny debounce helper:\n\n```js\nfunction debounce(fn, ms) {\n  let t;\n  return (...args) => {\n    clearTimeout(t);\n    t = setTimeout(() => fn(...args), ms);\n  };\n}\n```\nUse it on the search box's `input` event."),
    ("Recipe: fish 'n' chips", "Ingredients: 2 cod fillets, 500 g potatoes, 1 cup flour, 1/2 cup beer (or sparkling water).\nMethod: cut, soak, fry at 180°C; drain & season. Serve with mushy peas 'n' tartare sauce."),
    ("Meeting notes", "Attendees: Seán, Priya, D'Angelo.\n1) Drop support for v1 API by Q3?\n2) Union of the two customer tables -- needs a migration plan.\n3) Where to eat for the offsite: TBD.\nAction: Priya to select a vendor by 12/05."),
    ("Template syntax in our docs", "Greetings use Handlebars: `Hello {{user.first_name}}!` and env files use ${VAR} placeholders, e.g. API_URL=${BASE_URL}/v1. In Jinja: {% if user %}Hi {{ user.name }}{% endif %}."),
    ("Shell one-liner (docs)", "To count lines in all CSV files: `wc -l *.csv`. To follow the log, run `tail -f app.log` and press Ctrl+C to stop."),
    ("Go error handling", "```go\nresp, err := http.Get(url)\nif err != nil {\n    return fmt.Errorf(\"fetch %s: %w\", url, err)\n}\ndefer resp.Body.Close()\n```"),
    ("Customer quote", "\"It's the only tool our team's ops people actually like,\" says Ngozi Okafor, CTO at Globex. \"We went from 3 or 4 incidents a week to 1 or 2 a month.\""),
    ("Math in markdown", "The ratio is $a / b$ where $b \\neq 0$; if x < 5 and y > 10 then x * y <= 50 * 10. Percentages: 15% of 200 = 30."),
    ("Java stack trace in a bug report", "App crashed on save:\n\njava.lang.NullPointerException: Cannot invoke \"String.length()\" because \"name\" is null\n\tat com.example.shop.CartService.addItem(CartService.java:88)\n\tat com.example.shop.CartController.post(CartController.java:41)\n\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)\n\tat java.base/java.lang.reflect.Method.invoke(Method.java:568)\n\tat java.base/java.lang.Thread.run(Thread.java:833)"),
    ("Python traceback in a bug report", "Traceback (most recent call last):\n  File \"/app/main.py\", line 42, in <module>\n    main()\n  File \"/app/main.py\", line 30, in main\n    rows = db.execute(\"SELECT id FROM orders WHERE id = %s\", (order_id,))\nKeyError: 'order_id'"),
    ("CSS snippet", ".btn-primary { background: #0a66c2; border-radius: 4px; }\n.btn-primary:hover { filter: brightness(1.1); }\n@media (max-width: 600px) { .sidebar { display: none; } }"),
    ("Regex question", "How do I match an email with a regex like ^[\\w.+-]+@[\\w-]+\\.[\\w.]+$ in JavaScript? It fails on O'Brien@example.ie."),
    ("Event description", "Join us at Union Station (Hall B) on 14 June, 6 - 9 pm. Drop-in, no tickets needed; select 'attending' on the invite so we can plan food & drinks."),
    ("FAQ entry", "Q: Can I delete my account?\nA: Yes -- go to Settings > Privacy > Delete account. We keep invoices for 7 years (legal requirement) & erase everything else within 30 days."),
]


def gen_content(n):
    for i in range(n):
        title, text = CONTENT[i % len(CONTENT)] if i < len(CONTENT) else R.choice(CONTENT)
        kind = R.choice(["post", "comment", "ticket", "note"])
        if kind == "post":
            body = {"title": title, "body_markdown": text, "tags": R.sample(["engineering", "howto", "release", "food", "events", "sql", "python"], 2),
                    "status": R.choice(["draft", "published"]), "author_id": uid(), "publish_at": iso(),
                    "seo": {"slug": title.lower().replace(" ", "-").replace("'", "")[:50], "description": text[:140]}}
            path = "/v1/posts" if R.random() < 0.6 else f"/v1/posts/{uid()}"
            method = "POST" if path == "/v1/posts" else "PUT"
        elif kind == "comment":
            body = {"thread_id": uid(), "parent_id": R.choice([None, uid()]), "content": text, "format": "markdown"}
            path, method = f"/v1/threads/{R.randint(1, 99999)}/comments", "POST"
        elif kind == "ticket":
            body = {"subject": title, "description": text, "priority": R.choice(["low", "normal", "high"]),
                    "requester": {"email": person()[2]}, "custom_fields": {"browser": R.choice(UA_BROWSER), "app_version": "4.2.1"}}
            path, method = "/api/v2/tickets", "POST"
        else:
            body = {"note": text, "pinned": R.random() < 0.2, "color": R.choice(["yellow", "blue"])}
            path, method = f"/v1/projects/{R.randint(1, 500)}/notes", "POST"
        h = auth_headers()
        h.update(extra_headers())
        add("benign:content", method, path, headers=h, body=jdump(body, pretty=R.random() < 0.25),
            content_type="application/json", placement="body-json", hard=True,
            why=[f"markdown/code/HTML/prose: {title}"])


def gen_files(n):
    for i in range(n):
        kind = R.choice(["meta", "meta", "upload_b64", "multipart", "list", "download"])
        h = auth_headers()
        h.update(extra_headers())
        if kind == "meta":
            name = R.choice(["docs/readme.md", "reports/2024/Q3 report (final).pdf", "images/logo@2x.png",
                             "src/main.rs", "notes/meeting-notes_2024-05-01.txt", "exports/users.csv",
                             "design/Homepage v2 – final FINAL.fig", "contracts/O'Brien & Co - NDA.docx",
                             "backups/weekly/db-snapshot-2024-05-19.tar.gz", "scripts/deploy.sh",
                             "config/app.settings.json", "photos/Zoë's birthday/IMG_0042.HEIC"])
            body = {"path": name, "size": R.randint(10, 50_000_000), "content_type": R.choice(
                ["text/markdown", "application/pdf", "image/png", "text/csv", "application/octet-stream"]),
                "checksum": {"sha256": hashlib.sha256(name.encode()).hexdigest()},
                "uploaded_by": person()[2], "shared_with": [person()[2] for _ in range(R.randint(0, 3))],
                "parent_folder": name.rsplit("/", 1)[0] if "/" in name else "", "created_at": iso()}
            hard = any(c in name for c in "'&()") or name.endswith(".sh")
            add("benign:files", "POST", "/v1/files", headers=h, body=jdump(body), content_type="application/json",
                placement="body-json", hard=hard, why=["file names with quotes/& or script extensions"] if hard else None)
        elif kind == "upload_b64":
            raw = bytes(R.getrandbits(8) for _ in range(R.randint(300, 4000)))
            body = {"filename": R.choice(["avatar.png", "signature.jpg", "scan_0001.pdf", "voice-note.m4a"]),
                    "data": base64.b64encode(raw).decode(), "encoding": "base64"}
            add("benign:files", "PUT", f"/v1/users/{uid()}/avatar", headers=h, body=jdump(body),
                content_type="application/json", placement="body-json", hard=True, why=["a large base64 blob"])
        elif kind == "multipart":
            boundary = "----WebKitFormBoundary" + b64url(bytes(R.getrandbits(8) for _ in range(12)))[:16]
            fname = R.choice(["notes.txt", "todo.md", "data.csv"])
            content = R.choice([
                "Shopping list:\n- milk\n- eggs (1 or 2 dozen)\n- O'Doherty's bacon\n",
                "id,name,city\n1,Seán O'Brien,Dublin\n2,Zoë Müller,München\n3,\"Smith, John\",Austin\n",
                "# TODO\n- [ ] drop old tables after migration\n- [x] select new vendor\n"])
            parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nWeekly upload from {R.choice(FIRST)}\r\n",
                     f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{fname}\"\r\nContent-Type: text/plain\r\n\r\n{content}\r\n",
                     f"--{boundary}--\r\n"]
            add("benign:files", "POST", "/v1/uploads", headers=h, body="".join(parts),
                content_type=f"multipart/form-data; boundary={boundary}", placement="body-multipart", hard=True,
                why=["multipart upload with quotes and SQL-like words in the file"])
        elif kind == "list":
            q = qenc({"prefix": R.choice(["docs/", "reports/2024/", "images/", "shared/team a/"]), "delimiter": "/",
                      "max-keys": 100, "continuation-token": b64url(hexid(20).encode())})
            add("benign:files", "GET", "/v1/files", query=q, headers=h, placement="query")
        else:
            add("benign:files", "GET", f"/v1/files/{uid()}/download",
                query=qenc({"filename": R.choice(["Q3 report (final).pdf", "readme.md", "logo@2x.png", "users.csv"]),
                            "disposition": "attachment"}), headers=h, placement="query")


def gen_browser(n):
    pages = ["/", "/products", "/products/usb-c-cable-2m", "/blog/2024/05/why-we-moved-to-rust", "/account/orders",
             "/cart", "/checkout", "/help/articles/how-to-reset-your-password", "/static/app.3f9a1c.js",
             "/static/css/main.8c1d2e.css", "/images/logo@2x.png", "/favicon.ico", "/robots.txt", "/sitemap.xml",
             "/.well-known/openid-configuration", "/.well-known/jwks.json", "/manifest.webmanifest",
             "/fonts/Inter-roman.var.woff2", "/docs/api/v1/", "/openapi.json", "/pricing", "/about-us",
             "/careers/senior-backend-engineer-rust", "/legal/terms-of-service", "/users/zoe.muller/profile"]
    for i in range(n):
        path = R.choice(pages)
        q = None
        if R.random() < 0.35:
            q = R.choice(["utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale_2024",
                          "ref=producthunt", "v=3f9a1c", "lang=fr", "gclid=" + b64url(bytes(R.getrandbits(8) for _ in range(40))),
                          "fbclid=IwAR" + b64url(bytes(R.getrandbits(8) for _ in range(30))), "tab=orders&page=2",
                          "redirect=%2Faccount%2Forders%3Fpage%3D2", "return_to=https%3A%2F%2Fwww.example.com%2Fcart"])
        h = {"Accept": R.choice(["text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
                                 "image/avif,image/webp,image/apng,image/*,*/*;q=0.8", "text/css,*/*;q=0.1", "*/*"]),
             "Accept-Language": R.choice(["en-US,en;q=0.9", "fr-FR,fr;q=0.9", "de-DE,de;q=0.9,en;q=0.8"]),
             "Accept-Encoding": "gzip, deflate, br", "Cookie": cookies_browser(),
             "Sec-Fetch-Dest": R.choice(["document", "script", "image", "style"]), "Sec-Fetch-Mode": "navigate",
             "Sec-Fetch-Site": R.choice(["none", "same-origin", "cross-site"]), "Upgrade-Insecure-Requests": "1"}
        if R.random() < 0.6:
            h["Referer"] = R.choice(["https://www.google.com/", "https://www.example.com/products?q=rock+%27n%27+roll&page=2",
                                     "https://news.ycombinator.com/item?id=40123456", "https://t.co/AbCdEf123",
                                     "https://www.example.com/search?q=O%27Brien+%26+Sons"])
        if R.random() < 0.3:
            h["sec-ch-ua"] = '"Not_A Brand";v="8", "Chromium";v="120", "Google Chrome";v="120"'
            h["sec-ch-ua-platform"] = '"Windows"'
        if R.random() < 0.2:
            h["If-Modified-Since"] = "Wed, 21 Oct 2023 07:28:00 GMT"
        hard = "%27" in (q or "") or "%27" in h.get("Referer", "") or path.startswith("/.well-known")
        add("benign:browser", R.choice(["GET"] * 9 + ["HEAD"]), path, query=q, headers=h, placement="headers",
            ua=R.choice(UA_BROWSER), host="www.example.com", hard=hard,
            why=["apostrophes in Referer/query, or a dot-path like /.well-known"] if hard else None)


def gen_webhooks(n):
    for i in range(n):
        kind = R.choice(["stripe", "github", "slack", "sns"])
        if kind == "stripe":
            body = {"id": f"evt_{hexid(24)}", "object": "event", "api_version": "2023-10-16", "created": 1716000000 + R.randint(0, 10 ** 6),
                    "type": R.choice(["payment_intent.succeeded", "invoice.paid", "customer.subscription.deleted", "charge.refunded"]),
                    "data": {"object": {"id": f"pi_{hexid(24)}", "amount": R.randint(100, 100000), "currency": "eur",
                                        "description": R.choice(["Order #1234 - O'Brien", "Subscription (Pro plan) - select tier", None]),
                                        "metadata": {"order_id": str(R.randint(1, 99999)), "note": "1 or 2 items; union pickup"},
                                        "receipt_url": f"https://pay.stripe.com/receipts/acct_{hexid(16)}/ch_{hexid(24)}/rcpt_{hexid(30)}"}},
                    "livemode": False, "pending_webhooks": 1, "request": {"id": f"req_{hexid(14)}", "idempotency_key": uid()}}
            h = {"Stripe-Signature": f"t={1716000000 + R.randint(0, 10 ** 6)},v1={hexid(64)}"}
            ua, path = "Stripe/1.0 (+https://stripe.com/docs/webhooks)", "/webhooks/stripe"
        elif kind == "github":
            msgs = ["Fix: handle ' in customer names (closes #12)", "Drop unused tables; select indexes explicitly",
                    "Merge pull request #88 from org/feature/union-types", "Bump lodash from 4.17.20 to 4.17.21",
                    "docs: explain --verbose and --dry-run flags", "refactor(api): DELETE /v1/items/:id returns 204"]
            body = {"ref": "refs/heads/main", "before": hexid(40), "after": hexid(40),
                    "repository": {"id": R.randint(1, 10 ** 8), "full_name": "example-org/shop-api", "html_url": "https://github.com/example-org/shop-api",
                                   "private": True},
                    "pusher": {"name": "seanobrien", "email": "sean.obrien@example.com"},
                    "commits": [{"id": hexid(40), "message": R.choice(msgs), "timestamp": iso(),
                                 "url": f"https://github.com/example-org/shop-api/commit/{hexid(40)}",
                                 "author": {"name": "Seán O'Brien", "email": "sean.obrien@example.com"},
                                 "added": ["src/handlers/orders.rs"], "removed": [], "modified": ["README.md", "migrations/0042_drop_legacy.sql"]}
                                for _ in range(R.randint(1, 3))],
                    "compare": f"https://github.com/example-org/shop-api/compare/{hexid(12)}...{hexid(12)}"}
            h = {"X-GitHub-Event": "push", "X-GitHub-Delivery": uid(), "X-Hub-Signature-256": "sha256=" + hexid(64)}
            ua, path = "GitHub-Hookshot/7c5f1a2", "/webhooks/github"
        elif kind == "slack":
            form = {"token": hexid(24), "team_id": "T" + hexid(8).upper(), "channel_name": "ops-alerts", "user_name": "priya",
                    "command": "/deploy", "text": R.choice(["shop-api --env=staging --verbose", "status", "rollback shop-api to v2.3.1",
                                                            "select canary 10%"]),
                    "response_url": f"https://hooks.slack.com/commands/T{hexid(8).upper()}/{R.randint(10 ** 9, 10 ** 10)}/{hexid(24)}",
                    "trigger_id": f"{R.randint(10 ** 9, 10 ** 10)}.{R.randint(10 ** 9, 10 ** 10)}.{hexid(32)}"}
            add("benign:webhooks", "POST", "/slack/commands", headers={"X-Slack-Signature": "v0=" + hexid(64),
                                                                       "X-Slack-Request-Timestamp": str(1716000000 + R.randint(0, 10 ** 6))},
                body=urllib.parse.urlencode(form), content_type="application/x-www-form-urlencoded", placement="body-form",
                ua="Slackbot 1.0 (+https://api.slack.com/robots)", hard=True, why=["a slash command with --flags"])
            continue
        else:
            msg = {"alarm": "HighLatency", "state": "ALARM", "reason": "Threshold Crossed: 3 out of the last 3 datapoints [812.0 (19/05/24 10:02:00)] were greater than the threshold (500.0)."}
            body = {"Type": "Notification", "MessageId": uid(), "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ops-alerts",
                    "Subject": "ALARM: \"HighLatency\" in EU (Ireland)", "Message": json.dumps(msg), "Timestamp": iso(),
                    "SignatureVersion": "1", "Signature": base64.b64encode(bytes(R.getrandbits(8) for _ in range(256))).decode(),
                    "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem",
                    "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:ops-alerts:" + uid()}
            h = {"x-amz-sns-message-type": "Notification", "x-amz-sns-topic-arn": "arn:aws:sns:eu-west-1:123456789012:ops-alerts"}
            ua, path = "Amazon Simple Notification Service Agent", "/webhooks/sns"
        add("benign:webhooks", "POST", path, headers=h, body=jdump(body), content_type="application/json",
            placement="body-json", ua=ua, hard=True, why=["third-party payloads: URLs, quotes, SQL-like commit messages"])


def gen_misc(n):
    for i in range(n):
        kind = R.choice(["health", "preflight", "head", "metrics_push", "telemetry", "token_introspect", "rpc"])
        if kind == "health":
            add("benign:misc", "GET", R.choice(["/health", "/healthz", "/ready", "/v1/status"]), ua=R.choice(
                ["ELB-HealthChecker/2.0", "kube-probe/1.28", "Consul Health Check", "Go-http-client/1.1"]),
                headers={"Accept": "*/*"}, placement="none")
        elif kind == "preflight":
            add("benign:misc", "OPTIONS", f"/v1/{R.choice(['orders', 'users', 'graphql'])}", headers={
                "Origin": "https://app.example.com", "Access-Control-Request-Method": R.choice(["POST", "PUT", "DELETE"]),
                "Access-Control-Request-Headers": "authorization,content-type,x-request-id", "Accept": "*/*"},
                ua=R.choice(UA_BROWSER), placement="headers")
        elif kind == "head":
            add("benign:misc", "HEAD", f"/v1/files/{uid()}", headers=auth_headers(), placement="path")
        elif kind == "metrics_push":
            lines = [f'http_requests_total{{method="{m}",route="/v1/orders/:id",status="{s}"}} {R.randint(1, 10 ** 6)}'
                     for m in ["GET", "POST", "DELETE"] for s in ["200", "404", "500"]]
            add("benign:misc", "POST", "/metrics/job/shop-api/instance/10.0.3.7:9100", headers={}, body="\n".join(lines) + "\n",
                content_type="text/plain; version=0.0.4", placement="body-other", ua="Go-http-client/1.1", hard=True,
                why=["Prometheus text format: braces, quotes, DELETE"])
        elif kind == "telemetry":
            events = [{"event": R.choice(["page_view", "click", "add_to_cart", "search"]), "ts": iso(),
                       "props": {"path": R.choice(["/", "/cart", "/products/usb-c-cable-2m"]), "element": R.choice(["button#buy", "a.nav-link", "input[name=q]"]),
                                 "query": R.choice(["", "rock 'n' roll", "select a plan"]), "viewport": "1440x900"}}
                      for _ in range(R.randint(1, 8))]
            add("benign:misc", "POST", "/v1/collect", headers={"Origin": "https://www.example.com"}, body=jdump({"batch": events, "sent_at": iso()}),
                content_type=R.choice(["application/json", "text/plain;charset=UTF-8"]), placement="body-json",
                ua=R.choice(UA_BROWSER), hard=True, why=["CSS selectors and search terms in analytics events"])
        elif kind == "token_introspect":
            add("benign:misc", "POST", "/oauth2/introspect", headers={"Authorization": "Basic " + base64.b64encode(b"resource-server:" + hexid(32).encode()).decode()},
                body=urllib.parse.urlencode({"token": jwt(), "token_type_hint": "access_token"}),
                content_type="application/x-www-form-urlencoded", placement="body-form")
        else:
            body = {"jsonrpc": "2.0", "id": R.randint(1, 1000), "method": R.choice(["eth_getBalance", "getOrders", "system.listMethods", "user.update"]),
                    "params": R.choice([["0x" + hexid(40), "latest"], {"status": "open", "limit": 10}, []])}
            add("benign:misc", "POST", "/rpc", headers=auth_headers(), body=jdump(body), content_type="application/json",
                placement="body-json", hard=True, why=["JSON-RPC method names like system.listMethods, hex strings"])


def build():
    gen_json_api(190)
    gen_search(100)
    gen_forms(70)
    gen_graphql(45)
    gen_content(60)
    gen_files(45)
    gen_browser(60)
    gen_webhooks(30)
    gen_misc(30)
    return RECORDS


def render(recs):
    return "".join(json.dumps(r, ensure_ascii=False, separators=(", ", ": ")) + "\n" for r in recs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--check", action="store_true", help="fail if --out differs from what would be written")
    a = ap.parse_args()
    recs = build()
    ids = [r["id"] for r in recs]
    assert len(ids) == len(set(ids)), "duplicate ids"
    # Bodies stay within 8 KB: AWS's SizeRestrictions_BODY (core rule set) blocks bigger ones by
    # design, which says nothing about detection quality.
    big = [r["id"] for r in recs if len(r.get("body", "").encode()) > 8192]
    assert not big, f"bodies over 8 KB: {big}"
    text = render(recs)
    if a.check:
        with open(a.out, encoding="utf-8") as fh:
            if fh.read() != text:
                sys.exit(f"{a.out} is stale: run {sys.argv[0]}")
        print(f"{a.out}: up to date ({len(recs)} records)")
        return
    with open(a.out, "w", encoding="utf-8") as fh:
        fh.write(text)
    hard = sum(1 for r in recs if r["meta"]["hard"])
    cats = {}
    for r in recs:
        cats[r["category"]] = cats.get(r["category"], 0) + 1
    print(f"wrote {a.out}: {len(recs)} records, {hard} hard ({100 * hard / len(recs):.0f}%)")
    for c, n in sorted(cats.items()):
        print(f"  {c:18} {n}")


if __name__ == "__main__":
    main()
