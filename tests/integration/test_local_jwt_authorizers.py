"""JWT authorizers (HTTP APIs) and Cognito user pool authorizers (REST APIs) under
`wisp local start-api`: tokens minted here (RS256 and ES256, with the `cryptography`
package) and verified against keys this test serves from a loopback issuer (discovery
document → jwks_uri) or hands over with --jwks; exp, nbf, iss, aud, token_use, scopes; the
claims in the event as API Gateway puts them; 401/403 bodies; an issuer that is down
answers 401 instead of hanging; --disable-authorizer skips them."""

import base64
import http.server
import json
import os
import shutil
import socketserver
import tempfile
import threading
import time
import unittest

import harness
from gateway_helpers import Server, header

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Issuer: {Type: String}
  DeadIssuer: {Type: String}
Globals:
  Function: {Runtime: python3.11, CodeUri: src/, Handler: app.handler, Timeout: 10}
Resources:
  HttpApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt:
            IdentitySource: $request.header.Authorization
            JwtConfiguration:
              issuer: !Ref Issuer
              audience: [my-client]
          Dead:
            IdentitySource: $request.header.Authorization
            JwtConfiguration:
              issuer: !Ref DeadIssuer
              audience: [my-client]
  RestApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Auth:
        Authorizers:
          Pool:
            UserPoolArn: arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Local
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Me: {Type: HttpApi, Properties: {ApiId: !Ref HttpApi, Path: /me, Method: GET}}
        Open: {Type: HttpApi, Properties: {ApiId: !Ref HttpApi, Path: /open, Method: GET, Auth: {Authorizer: NONE}}}
        Admin:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Path: /admin
            Method: GET
            Auth: {Authorizer: Jwt, AuthorizationScopes: [admin]}
        Dead: {Type: HttpApi, Properties: {ApiId: !Ref HttpApi, Path: /dead, Method: GET, Auth: {Authorizer: Dead}}}
        Claims: {Type: Api, Properties: {RestApiId: !Ref RestApi, Path: /claims, Method: GET, Auth: {Authorizer: Pool}}}
"""

APP = r'''
import json
def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"].get("authorizer"))}
'''

POOL_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Local"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_b64(value):
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class Keys:
    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self):
        rsa_numbers = self.rsa.public_key().public_numbers()
        ec_numbers = self.ec.public_key().public_numbers()
        return {"keys": [
            {"kty": "RSA", "kid": "rsa1", "use": "sig", "alg": "RS256",
             "n": int_b64(rsa_numbers.n), "e": int_b64(rsa_numbers.e)},
            {"kty": "EC", "kid": "ec1", "use": "sig", "alg": "ES256", "crv": "P-256",
             "x": b64(ec_numbers.x.to_bytes(32, "big")), "y": b64(ec_numbers.y.to_bytes(32, "big"))},
        ]}

    def token(self, claims, kid="rsa1", alg="RS256", key=None):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        head = b64(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}).encode())
        body = b64(json.dumps(claims).encode())
        signing_input = f"{head}.{body}".encode()
        if alg == "RS256":
            signature = (key or self.rsa).sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            der = (key or self.ec).sign(signing_input, ec.ECDSA(hashes.SHA256()))
            r, s = decode_dss_signature(der)
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{head}.{body}.{b64(signature)}"


class Issuer:
    """A loopback OpenID issuer: discovery document and JWKS."""

    def __init__(self, jwks):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    body = json.dumps({"issuer": owner.url, "jwks_uri": owner.url + "/keys"}).encode()
                elif self.path == "/keys":
                    body = json.dumps(jwks).encode()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.requests = []
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class JwtAuthorizerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_peer("python3.11", "Python runtime")
        try:
            import cryptography  # noqa: F401
        except ImportError:
            raise unittest.SkipTest("PEER MISSING: the python `cryptography` package")
        cls.keys = Keys()
        cls.issuer = Issuer(cls.keys.jwks())
        cls.tmp = tempfile.mkdtemp(prefix="wisp-jwt-")
        with open(f"{cls.tmp}/template.yaml", "w") as f:
            f.write(TEMPLATE)
        os.makedirs(f"{cls.tmp}/src")
        with open(f"{cls.tmp}/src/app.py", "w") as f:
            f.write(APP)
        with open(f"{cls.tmp}/pool-jwks.json", "w") as f:
            json.dump(cls.keys.jwks(), f)
        cls.dead = f"http://127.0.0.1:{harness.free_port()}"
        cls.args = ["--no-watch", "--parameter-overrides", f"Issuer={cls.issuer.url} DeadIssuer={cls.dead}",
                    "--jwks", f"{POOL_ISSUER}={cls.tmp}/pool-jwks.json"]
        cls.server = Server(cls.tmp, *cls.args)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.issuer.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def claims(self, **extra):
        now = int(time.time())
        claims = {"iss": self.issuer.url, "aud": "my-client", "sub": "user-1", "iat": now,
                  "exp": now + 600, "scope": "read write", "groups": ["a", "b"], "n": 7}
        claims.update(extra)
        return {k: v for k, v in claims.items() if v is not None}

    def get(self, api, path, token=None, raw=None):
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if raw is not None:
            headers["Authorization"] = raw
        return self.server.request(api, "GET", path, headers=headers)

    def test_valid_rs256_and_es256_tokens_reach_the_function_with_claims(self):
        for alg, kid in (("RS256", "rsa1"), ("ES256", "ec1")):
            status, _, body = self.get("HttpApi", "/me", self.keys.token(self.claims(), kid, alg))
            self.assertEqual(status, 200, body)
            jwt = json.loads(body)["jwt"]
            self.assertEqual(jwt["claims"]["sub"], "user-1")
            self.assertEqual(jwt["claims"]["n"], "7")
            self.assertEqual(jwt["claims"]["groups"], "[a b]")
            self.assertEqual(jwt["scopes"], ["read", "write"])
        self.assertIn("/.well-known/openid-configuration", self.issuer.requests)

    def test_bad_tokens_answer_401(self):
        now = int(time.time())
        cases = {
            "expired": self.keys.token(self.claims(exp=now - 5)),
            "not yet valid": self.keys.token(self.claims(nbf=now + 600)),
            "other audience": self.keys.token(self.claims(aud="someone-else")),
            "other issuer": self.keys.token(self.claims(iss="https://evil.example")),
            "unknown key": self.keys.token(self.claims(), kid="nope"),
            "wrong key": self.keys.token(self.claims(), key=self.keys.other),
            "malformed": "not.a.jwt",
            "garbage": "abc",
        }
        token = self.keys.token(self.claims())
        head, body, sig = token.split(".")
        cases["tampered"] = f"{head}.{b64(json.dumps(self.claims(sub='admin')).encode())}.{sig}"
        for name, token in cases.items():
            status, headers, body = self.get("HttpApi", "/me", token)
            self.assertEqual(status, 401, name)
            self.assertEqual(json.loads(body), {"message": "Unauthorized"}, name)
            self.assertIn('error="invalid_token"', header(headers, "www-authenticate"), name)
        status, _, _ = self.get("HttpApi", "/me")
        self.assertEqual(status, 401)
        # the server goes on; an open route needs no token
        status, _, body = self.get("HttpApi", "/open")
        self.assertEqual(status, 200, body)

    def test_client_id_stands_for_aud(self):
        status, _, body = self.get("HttpApi", "/me",
                                   self.keys.token(self.claims(aud=None, client_id="my-client")))
        self.assertEqual(status, 200, body)

    def test_authorization_scopes(self):
        status, headers, body = self.get("HttpApi", "/admin", self.keys.token(self.claims()))
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body), {"message": "Forbidden"})
        self.assertIn("insufficient_scope", header(headers, "www-authenticate"))
        status, _, body = self.get("HttpApi", "/admin", self.keys.token(self.claims(scope="admin")))
        self.assertEqual(status, 200, body)

    def test_issuer_down_answers_401_not_a_hang(self):
        token = self.keys.token(self.claims(iss=self.dead))
        started = time.monotonic()
        status, _, body = self.get("HttpApi", "/dead", token)
        self.assertEqual(status, 401)
        self.assertLess(time.monotonic() - started, 20)

    def test_cognito_rest_authorizer(self):
        now = int(time.time())
        id_token = self.keys.token({"iss": POOL_ISSUER, "aud": "client", "token_use": "id",
                                    "sub": "abc", "email": "a@example.com", "exp": now + 600,
                                    "iat": now, "cognito:groups": ["admins"]})
        status, _, body = self.server.request("RestApi", "GET", "/claims",
                                              headers={"Authorization": id_token})
        self.assertEqual(status, 200, body)
        claims = json.loads(body)["claims"]
        self.assertEqual(claims["email"], "a@example.com")
        self.assertEqual(claims["cognito:groups"], "[admins]")
        self.assertRegex(claims["exp"], r"^\w{3} \w{3} \d\d \d\d:\d\d:\d\d UTC \d{4}$")
        access = self.keys.token({"iss": POOL_ISSUER, "token_use": "access", "sub": "abc",
                                  "exp": now + 600, "scope": "aws.cognito.signin.user.admin"})
        status, headers, body = self.server.request("RestApi", "GET", "/claims",
                                                    headers={"Authorization": access})
        self.assertEqual(status, 401)
        self.assertEqual(json.loads(body), {"message": "Unauthorized"})
        self.assertEqual(header(headers, "x-amzn-errortype"), "UnauthorizedException")
        status, _, _ = self.server.request("RestApi", "GET", "/claims")
        self.assertEqual(status, 401)

    def test_disable_authorizer_skips_them(self):
        with Server(self.tmp, *self.args, "--disable-authorizer") as server:
            status, _, body = server.request("HttpApi", "GET", "/me")
            self.assertEqual(status, 200, body)
            status, _, body = server.request("RestApi", "GET", "/claims")
            self.assertEqual(status, 200, body)


if __name__ == "__main__":
    harness.main()
