# The HelloWorld handler, loaded by ./bootstrap (Handler: function.handler). `handler` reads
# the API Gateway event (REST API payload 1.0 or HTTP API payload 2.0) on stdin and prints
# the proxy response on stdout; a non-zero exit reports an error for this invocation.
# It reads the event with sed to stay dependency-free; use a JSON tool (jq) for more.

handler() {
  # The first "name": "..." in the event (a path or query parameter), letters, digits,
  # '-' and '_' only, so it can go into the response unescaped.
  name=$(sed -n 's/.*"name"[[:space:]]*:[[:space:]]*"\([A-Za-z0-9_-]\{1,64\}\)".*/\1/p' | head -n 1)
  printf '{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\\"message\\":\\"hello %s\\"}"}\n' \
    "${name:-world}"
}
