#!/usr/bin/env bash
# Makes sure a Debian base image (debian:<suite>-slim) exists. Online it is pulled from Docker Hub;
# where no registry can be reached it is built locally with debootstrap from the Debian archive this
# machine's apt already uses (its address, with the suite swapped: bookworm, trixie, forky...), and
# imported under the same tag, so nothing else differs.
#   build-base-image.sh [TAG] [SUITE]      e.g. build-base-image.sh debian:trixie-slim trixie
set -euo pipefail
tag="${1:-debian:bookworm-slim}"
suite="${2:-${FAULTLINE_DEBIAN_SUITE:-}}"
if [ -z "$suite" ]; then suite="${tag#*:}"; suite="${suite%-slim}"; fi
say() { printf '[base-image %s] %s\n' "$suite" "$*"; }

if docker image inspect "$tag" >/dev/null 2>&1; then say "$tag is present"; exit 0; fi
say "pulling $tag"
if timeout 60 docker pull -q "$tag" >/dev/null 2>&1; then say "pulled $tag"; exit 0; fi
say "cannot pull $tag (no registry reachable): building it locally with debootstrap"

mirror="${FAULTLINE_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  # The main archive apt is configured with (not its security archive), whatever suite it lists:
  # every suite lives at the same address. deb822 sources first (Debian 12), then one-line lists.
  mirror=$(awk '/^URIs:/{u=$2} /^Suites:/{ if (u !~ /security/) { print u; exit } }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
  say "no Debian archive found in /etc/apt/sources*; set FAULTLINE_DEBIAN_MIRROR to one (e.g. http://deb.debian.org/debian)"; exit 3
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
# A suite newer than this machine's debootstrap knows (forky on Debian 12) is made with the script
# of Debian's moving suite, sid, which fits any suite that follows it.
script=""
if [ ! -e "/usr/share/debootstrap/scripts/$suite" ]; then
  script=/usr/share/debootstrap/scripts/sid
  say "debootstrap has no script for '$suite': using $script"
fi
root=$(mktemp -d /tmp/faultline-base.XXXXXX)
log="/tmp/faultline-debootstrap-$suite.log"
trap 'rm -rf "$root"' EXIT
say "debootstrap --variant=minbase $suite from $mirror"
# shellcheck disable=SC2086
debootstrap --variant=minbase "$suite" "$root" "$mirror" $script >"$log" 2>&1 || {
  say "debootstrap failed; last lines of $log:"; tail -n 20 "$log"; exit 3; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
# A mirror that serves a frozen copy of the archive (a snapshot) has Release files past their
# Valid-Until date, and apt would refuse the suite (testing's expire within days): the image trusts
# the same signed files debootstrap just verified, however old.
echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99faultline-snapshot"
tar -C "$root" -c . | docker import - "$tag" >/dev/null
say "imported $tag"
