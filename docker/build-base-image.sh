#!/usr/bin/env bash
# Makes sure the base image the node image builds FROM exists. Online it is pulled from Docker Hub;
# where no registry can be reached it is built locally with debootstrap from the Debian mirror that
# this machine's apt already uses, and imported under the same tag, so nothing else differs.
set -euo pipefail
tag="${1:-debian:bookworm-slim}"
suite="${FAULTLINE_DEBIAN_SUITE:-bookworm}"
say() { printf '[base-image] %s\n' "$*"; }

if docker image inspect "$tag" >/dev/null 2>&1; then say "$tag is present"; exit 0; fi
say "pulling $tag"
if timeout 60 docker pull -q "$tag" >/dev/null 2>&1; then say "pulled $tag"; exit 0; fi
say "cannot pull $tag (no registry reachable): building it locally with debootstrap"

mirror="${FAULTLINE_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  # deb822 sources first (Debian 12), then the one-line format.
  mirror=$(awk '/^URIs:/{u=$2} /^Suites:/{ for(i=2;i<=NF;i++) if($i=="'"$suite"'") {print u; exit} }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $3=="'"$suite"'" {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
  say "no Debian mirror for '$suite' found in /etc/apt/sources*; set FAULTLINE_DEBIAN_MIRROR to one"; exit 3
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
root=$(mktemp -d /tmp/faultline-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
say "debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >/tmp/faultline-debootstrap.log 2>&1 || {
  say "debootstrap failed; last lines of /tmp/faultline-debootstrap.log:"; tail -n 20 /tmp/faultline-debootstrap.log; exit 3; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import - "$tag" >/dev/null
say "imported $tag"
