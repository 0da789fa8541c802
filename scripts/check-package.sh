#!/usr/bin/env bash
# Proves the npm package as a user gets it: packs the tarball, installs it (a copy, not a symlink)
# into a fresh project, and there runs the CLI, a plain-ESM import, a strict TypeScript check of a
# user's experiment file, and a user's vitest file that runs the `healthy` experiment on real
# containers (the files in examples/). Needs Node.js, npm (the registry) and a Docker engine.
# Run by .ci/run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d -t faultline-package-XXXXXX)"
trap 'rm -rf "$work"' EXIT
say() { printf '[package %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
dev() { node -p "require('$root/package.json').devDependencies['$1']"; }

say "packing"
tarball="$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -n 1)"
say "installing $tarball into a fresh project (with typescript@$(dev typescript) and vitest@$(dev vitest))"
mkdir "$work/app" && cd "$work/app"
npm init -y >/dev/null
npm pkg set type=module
npm install --no-audit --no-fund --loglevel=error "$work/$tarball" "typescript@$(dev typescript)" "vitest@$(dev vitest)" >/dev/null
[ -d node_modules/faultline ] && [ ! -L node_modules/faultline ] || { echo "node_modules/faultline is not a copied folder" >&2; exit 1; }

want="$(node -p "require('$root/package.json').version")"
got="$(npx --no-install faultline --version)"
[ "$got" = "$want" ] || { echo "npx faultline --version printed '$got', expected '$want'" >&2; exit 1; }
say "npx faultline --version: $got"
npx --no-install faultline list | grep -q '^  sidekick-naive ' || { echo "npx faultline list does not list sidekick-naive" >&2; exit 1; }
npx --no-install faultline list | grep -q '^  redis-sidekick-naive ' || { echo "npx faultline list does not list redis-sidekick-naive" >&2; exit 1; }
say "npx faultline list: ok"
# validate from the installed package: the rules list, and preflight on a user's file (no containers).
npx --no-install faultline validate --rules | grep -q '^archive-command-noop  (error)' || { echo "npx faultline validate --rules does not list archive-command-noop" >&2; exit 1; }
printf "archive_mode = on\narchive_command = '/bin/true'\n" >unsafe.conf
set +e; npx --no-install faultline validate --postgres-conf unsafe.conf --no-drills --out validate-out >validate.log 2>&1; code=$?; set -e
[ "$code" = 1 ] && grep -q "archive_command is '/bin/true'" validate.log && [ -f validate-out/validate.json ] \
  || { cat validate.log >&2; echo "npx faultline validate --no-drills on an unsafe file: exit $code, expected 1 with the finding" >&2; exit 1; }
say "npx faultline validate (rules, preflight on an unsafe file): ok"

cat >import.mjs <<'JS'
import { runExperiment, defineExperiment, defaultTopology, composeValidity } from 'faultline';
if (typeof runExperiment !== 'function' || typeof defineExperiment !== 'function' || !defaultTopology.postgres) throw new Error('faultline exports are missing');
if (composeValidity(['skipped']) !== 'unknown') throw new Error('composeValidity misbehaves');
console.log('plain ESM import: ok');
JS
node import.mjs

cat >tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "es2023", "module": "nodenext", "moduleResolution": "nodenext", "strict": true, "skipLibCheck": true, "noEmit": true }, "include": ["my-drill.ts"] }
JSON
cp "$root/examples/my-drill.ts" "$root/examples/healthy.test.ts" .
npx --no-install tsc -p tsconfig.json
say "tsc --noEmit on a strict user file: ok"

npx --no-install vitest run healthy.test.ts
say "a user's vitest suite ran the healthy experiment from the installed package: ok"

npx --no-install faultline run ./my-drill.ts --seed 1 --junit junit.xml >run.log 2>&1 || { cat run.log >&2; echo "npx faultline run ./my-drill.ts failed" >&2; exit 1; }
grep -q 'my-drill (seed 1): PASS' run.log && grep -q '<testsuite name="my-drill"' junit.xml || { cat run.log >&2; exit 1; }
say "npx faultline run ./my-drill.ts (a user's own drill file): ok"
