"""A token-auth front for a plain docker-registry (tests only): like Docker Hub, /v2/
answers 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...` until a request
carries the token that /token hands out for the right Basic credentials. Authorized
requests are forwarded to the registry (Location headers rewritten to this proxy).

python3 registry_auth_proxy.py PORT UPSTREAM_PORT USER PASSWORD
"""

import base64
import http.client
import http.server
import sys

PORT, UPSTREAM, USER, PASSWORD = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
TOKEN = "wisp-test-token"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/token"):
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if self.headers.get("Authorization") != expected or "scope=repository" not in self.path:
                return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
            return self.reply(200, ('{"token":"%s"}' % TOKEN).encode(),
                              [("Content-Type", "application/json")])
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            challenge = (f'Bearer realm="http://127.0.0.1:{PORT}/token",service="wisp-test",'
                         f'scope="repository:wisp/app:pull,push"')
            return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                              [("WWW-Authenticate", challenge)])
        conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "host")}
        conn.request(self.command, self.path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        out = []
        for k, v in response.getheaders():
            if k.lower() in ("content-length", "transfer-encoding", "connection"):
                continue
            if k.lower() == "location":
                v = v.replace(f"127.0.0.1:{UPSTREAM}", f"127.0.0.1:{PORT}")
            out.append((k, v))
        conn.close()
        self.reply(response.status, data, out)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
