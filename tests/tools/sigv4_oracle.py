"""botocore's SigV4 signer as an oracle for wisp's: signs request descriptions at a fixed
time and prints the Authorization header and the canonical request.

Used by tests/integration/test_aws_sigv4.py (live) and to regenerate
tests/unit/data/sigv4_botocore.json:  python3 tests/tools/sigv4_oracle.py --generate > FILE
"""

import datetime
import json
import random
import sys
from unittest import mock

import botocore.auth
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(case):
    """case: {method, url, headers: [[k, v]], body, region, service, key, secret, token, date}"""
    request = AWSRequest(method=case["method"], url=case["url"], data=case["body"].encode())
    for name, value in case["headers"]:
        request.headers[name] = value
    credentials = Credentials(case["key"], case["secret"], case.get("token") or None)
    auth_class = S3SigV4Auth if case["service"] == "s3" else SigV4Auth
    auth = auth_class(credentials, case["service"], case["region"])
    when = datetime.datetime.strptime(case["date"], "%Y%m%dT%H%M%SZ")
    recorded = []
    original = auth.canonical_request

    def record(req):
        text = original(req)
        recorded.append(text)
        return text

    auth.canonical_request = record
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
        auth.add_auth(request)
    return {"authorization": request.headers["Authorization"], "canonical_request": recorded[-1]}


def random_cases(count, seed):
    rng = random.Random(seed)
    alphabet = "abcXYZ019-_.~ %/+=&?:@!$'()*,;"
    cases = []
    for i in range(count):
        service = rng.choice(["lambda", "s3", "apigateway", "logs", "monitoring", "iam", "sts"])
        method = rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"])
        segments = ["".join(rng.choice(alphabet.replace("/", "").replace("?", "")) for _ in range(rng.randint(1, 8))) for _ in range(rng.randint(0, 4))]
        from urllib.parse import quote
        path = "/" + "/".join(quote(s, safe="~") for s in segments)
        query = []
        for _ in range(rng.randint(0, 4)):
            key = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
            value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
            query.append((key, value))
        query_string = "&".join(quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~") for k, v in query)
        host = f"{service}.us-west-2.amazonaws.com"
        url = f"https://{host}{path}" + (("?" + query_string) if query_string else "")
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) if method in ("PUT", "POST", "PATCH") else ""
        import hashlib
        headers = [["Host", host], ["X-Amz-Content-SHA256", hashlib.sha256(body.encode()).hexdigest()]]
        if body:
            headers.append(["Content-Type", rng.choice(["application/json", "application/x-amz-json-1.1", "text/plain;  charset=utf-8"])])
        if rng.random() < 0.5:
            headers.append(["X-Amz-Target", "Logs_20140328.PutLogEvents"])
        if rng.random() < 0.3:
            headers.append(["X-Custom-Spaces", "  a   b  c "])
        cases.append({
            "method": method, "url": url, "path": path, "query": query, "headers": headers,
            "body": body, "region": "us-west-2", "service": service,
            "key": "AKIDEXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "token": "tok/en+" + str(i) if rng.random() < 0.3 else "",
            "date": f"2015{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}3600Z",
        })
    return cases


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--generate":
        count = int(sys.argv[2]) if len(sys.argv) > 2 else 60
        seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
        cases = random_cases(count, seed)
        for case in cases:
            case["expected"] = sign(case)
        print("[\n" + ",\n".join(json.dumps(c) for c in cases) + "\n]")
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--cases":
        count, seed = int(sys.argv[2]), int(sys.argv[3])
        json.dump(random_cases(count, seed), sys.stdout)
        return
    cases = json.load(sys.stdin)
    json.dump([sign(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
