#!/bin/sh
# Unit test for the HelloWorld handler: runs it on the sample events and compares the
# responses. Run from the project directory:  sh tests/test_handler.sh
set -u
cd "$(dirname "$0")/.."
. ./hello-world/function.sh

passed=0
failed=0
# check NAME EXPECTED (the event on stdin)
check() {
  actual=$(handler)
  if [ "$actual" = "$2" ]; then
    echo "ok - $1"
    passed=$((passed + 1))
  else
    echo "not ok - $1"
    echo "  expected: $2"
    echo "  actual:   $actual"
    failed=$((failed + 1))
  fi
}

response() {
  printf '{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\\"message\\":\\"hello %s\\"}"}' "$1"
}

check "REST API event" "$(response world)" < events/event.json
check "HTTP API event with a path parameter" "$(response wisp)" < events/event-http.json
check "query string name" "$(response Ana)" <<'JSON'
{"queryStringParameters": {"name": "Ana"}}
JSON
check "unsafe names are not echoed" "$(response world)" <<'JSON'
{"queryStringParameters": {"name": "a\"b"}}
JSON

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
