#!/usr/bin/env bash
# Fetch the real FTP servers that the interop suite (test/interop/, `npm run test:interop`) runs against.
#
# The servers come from Debian's packages but are NOT installed: vsftpd, proftpd-core and pure-ftpd each
# Provide/Conflict "ftp-server", so they cannot be installed side by side. Instead this script
#   1. `apt-get download`s vsftpd, proftpd-core, pure-ftpd and python3-pyftpdlib into .cache/interop/debs/
#      (running `apt-get update` first only when apt does not know them yet), plus those of their
#      library dependencies that are not installed on this machine (read from the packages' Depends,
#      recursively; on bookworm: libhiredis0.14, libmemcached11, libmemcachedutil2, libhashkit2,
#      libpcre2-posix3, libwrap0), and
#   2. unpacks each .deb with `dpkg -x` into .cache/interop/root/; the harness (test/interop/servers.ts)
#      runs the binaries from there with LD_LIBRARY_PATH pointing at the unpacked library folders, then
#   3. checks with `ldd` that every server binary finds all its libraries.
#
# Machine-wide steps (they need root; CI runs this script as root):
#   - creates the system account `ftp2s3test` (no password, shell /usr/sbin/nologin, home /). The servers
#     are started as root by the tests and run each FTP session as this account; FTP logins themselves use
#     per-server virtual users (any user name and password a test asks for), never this account's password.
#   - writes /etc/pam.d/ftp2s3-interop-vsftpd: vsftpd only authenticates through PAM, so its virtual users
#     come from pam_userdb (libpam-modules, already on every Debian) with a database path RELATIVE to
#     vsftpd's working directory, which the harness sets to each server's own temp dir. That way every
#     vsftpd instance gets its own user database without touching /etc again.
#   - installs Debian's python3 if /usr/bin/python3 is missing (it is present on this project's machines):
#     pyftpdlib is packaged for Debian's Python, and the harness uses it to write vsftpd's user database
#     (Debian's Python dbm.ndbm writes the Berkeley DB files that pam_userdb reads).
#
# Idempotent: a .deb already in .cache/interop/debs/ is not downloaded again, the account and the PAM file
# are left alone when already right. `rm -rf .cache/interop` (and running this again) refetches everything.
# Prints one line per server with its version, and exits non-zero with a message when something is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE="$PWD/.cache/interop"
DEBS="$CACHE/debs"
ROOT="$CACHE/root"
SERVER_PACKAGES=(vsftpd proftpd-core pure-ftpd python3-pyftpdlib)
SESSION_USER=ftp2s3test
PAM_FILE=/etc/pam.d/ftp2s3-interop-vsftpd

die() {
  echo "interop-setup: ERROR: $*" >&2
  exit 1
}
note() { echo "interop-setup: $*" >&2; }

for tool in apt-get apt-cache dpkg dpkg-deb dpkg-query ldd openssl; do
  command -v "$tool" >/dev/null || die "'$tool' not found: this script needs a Debian machine (bookworm)"
done

mkdir -p "$DEBS" "$ROOT"

# --- 1. download ---------------------------------------------------------------------------------------

# Prints the packages among "$@" that apt has no candidate version for (one `apt-cache policy` call).
unknown_to_apt() {
  apt-cache policy "$@" 2>/dev/null | awk -v want="$*" '
    BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) missing[w[i]] = 1 }
    /^[^ ].*:$/ { pkg = substr($0, 1, length($0) - 1) }
    /^ *Candidate:/ && $2 != "(none)" { delete missing[pkg] }
    END { for (p in missing) print p }'
}

updated=no
ensure_known() {
  local -a unknown
  mapfile -t unknown < <(unknown_to_apt "$@")
  if ((${#unknown[@]})) && [[ $updated == no ]]; then
    note "apt does not know ${unknown[*]} yet: running apt-get update"
    apt-get update -qq || die "apt-get update failed"
    updated=yes
    mapfile -t unknown < <(unknown_to_apt "$@")
  fi
  ((${#unknown[@]} == 0)) || die "Debian package(s) not found by apt: ${unknown[*]} (check /etc/apt/sources.list*)"
}

downloaded() { compgen -G "$DEBS/${1}_*.deb" >/dev/null; }

download() {
  local pkg
  local -a need=()
  for pkg in "$@"; do
    downloaded "$pkg" || need+=("$pkg")
  done
  ((${#need[@]})) || return 0
  ensure_known "${need[@]}"
  note "downloading ${need[*]}"
  # The sandbox user _apt could not write into the cache folder; download as root instead (no warning).
  (cd "$DEBS" && apt-get -qq -o APT::Sandbox::User=root download "${need[@]}") ||
    die "apt-get download ${need[*]} failed"
  for pkg in "${need[@]}"; do downloaded "$pkg" || die "apt-get download did not produce $pkg"; done
}

installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == installed ]]
}

# Library packages that the given .debs depend on (first alternative of each dependency).
lib_depends() {
  local deb
  for deb in "$@"; do
    # Asked for two fields, dpkg-deb prints "Depends: ..." lines: drop the field names first.
    dpkg-deb -f "$deb" Depends Pre-Depends | sed 's/^[A-Za-z-]*: //' | tr ',' '\n' |
      sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' \
      -e 's/[[:space:]]//g' | grep -E '^(lib|zlib)' || true
  done | sort -u
}

download "${SERVER_PACKAGES[@]}"

# Library dependencies not installed on this machine, recursively.
declare -A seen=()
queue=()
for pkg in "${SERVER_PACKAGES[@]}"; do queue+=("$(ls "$DEBS/${pkg}"_*.deb | head -n1)"); done
while ((${#queue[@]})); do
  mapfile -t deps < <(lib_depends "${queue[@]}")
  queue=()
  missing=()
  for dep in "${deps[@]}"; do
    [[ -n "$dep" && -z "${seen[$dep]:-}" ]] || continue
    seen[$dep]=1
    installed "$dep" || missing+=("$dep")
  done
  ((${#missing[@]})) || break
  download "${missing[@]}"
  for dep in "${missing[@]}"; do queue+=("$(ls "$DEBS/${dep}"_*.deb | head -n1)"); done
done

# --- 2. unpack ------------------------------------------------------------------------------------------

for deb in "$DEBS"/*.deb; do
  stamp="$ROOT/.unpacked/$(basename "$deb")"
  [[ -e "$stamp" ]] && continue
  dpkg -x "$deb" "$ROOT" || die "dpkg -x $deb failed"
  mkdir -p "$ROOT/.unpacked" && touch "$stamp"
done

# --- 3. check libraries ---------------------------------------------------------------------------------

libdirs=()
for dir in "$ROOT"/lib/*-linux-gnu* "$ROOT"/usr/lib/*-linux-gnu*; do
  [[ -d "$dir" ]] && libdirs+=("$dir")
done
LD_LIBRARY_PATH="$(
  IFS=:
  echo "${libdirs[*]}"
)"
export LD_LIBRARY_PATH

BINARIES=(usr/sbin/vsftpd usr/sbin/proftpd usr/sbin/pure-ftpd usr/bin/pure-pw)
for bin in "${BINARIES[@]}"; do
  [[ -x "$ROOT/$bin" ]] || die "$ROOT/$bin missing after unpacking"
  if unresolved=$(ldd "$ROOT/$bin" | grep 'not found'); then
    die "$bin cannot find these libraries (which Debian package is missing from the list above?):
$unresolved"
  fi
done
PYFTPDLIB="$ROOT/usr/lib/python3/dist-packages"
[[ -f "$PYFTPDLIB/pyftpdlib/__init__.py" ]] || die "pyftpdlib missing under $PYFTPDLIB after unpacking"

# --- 4. machine-wide steps (root) -----------------------------------------------------------------------

problems=()

if [[ ! -x /usr/bin/python3 ]]; then
  if ((EUID == 0)); then
    note "/usr/bin/python3 missing: installing Debian's python3"
    ensure_known python3
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 >/dev/null ||
      die "apt-get install python3 failed"
  else
    problems+=("/usr/bin/python3 (Debian's Python, needed by pyftpdlib and vsftpd's user database) is missing: run this script as root, or apt-get install python3")
  fi
fi
if [[ -x /usr/bin/python3 ]]; then
  ndbm=$(/usr/bin/python3 -c 'import dbm.ndbm; print(dbm.ndbm.library)' 2>&1 || true)
  [[ "$ndbm" == "Berkeley DB" ]] ||
    problems+=("/usr/bin/python3's dbm.ndbm is '$ndbm', not Berkeley DB: vsftpd's pam_userdb database cannot be written")
fi

pam_userdb=$(find /lib /usr/lib -path '*/security/pam_userdb.so' -print -quit 2>/dev/null || true)
[[ -n "$pam_userdb" ]] || problems+=("pam_userdb.so not found (Debian package libpam-modules): vsftpd cannot log in virtual users")

PAM_CONTENT="# Written by ftp2s3's scripts/interop-setup.sh for the interop suite's vsftpd (test/interop/servers.ts).
# Virtual users from a pam_userdb database whose path is relative to vsftpd's working directory:
# the harness runs each vsftpd in its own temp dir holding its own vsftpd-users.db.
auth    required pam_userdb.so db=vsftpd-users
account required pam_permit.so
session required pam_permit.so"

if ((EUID == 0)); then
  if ! getent passwd "$SESSION_USER" >/dev/null; then
    useradd --system --user-group --home-dir / --no-create-home --shell /usr/sbin/nologin \
      --comment "ftp2s3 interop test servers" "$SESSION_USER" || die "useradd $SESSION_USER failed"
    note "created system account $SESSION_USER"
  fi
  if [[ ! -f "$PAM_FILE" || "$(cat "$PAM_FILE")" != "$PAM_CONTENT" ]]; then
    printf '%s\n' "$PAM_CONTENT" >"$PAM_FILE" && chmod 644 "$PAM_FILE"
    note "wrote $PAM_FILE"
  fi
else
  getent passwd "$SESSION_USER" >/dev/null ||
    problems+=("account $SESSION_USER missing: run this script as root to create it")
  [[ -f "$PAM_FILE" ]] || problems+=("$PAM_FILE missing: run this script as root to write it")
  problems+=("not running as root: the tests must run as root to start vsftpd, proftpd and pure-ftpd")
fi

# --- 5. versions ----------------------------------------------------------------------------------------

deb_version() { dpkg-deb -f "$(ls "$DEBS/${1}"_*.deb | head -n1)" Version; }
# vsftpd -v writes its version to standard input.
vsftpd_says=$("$ROOT/usr/sbin/vsftpd" -v 0>&1 2>&1 | head -n1 || true)
proftpd_says=$("$ROOT/usr/sbin/proftpd" -v 2>&1 | head -n1 || true)
pureftpd_says=$("$ROOT/usr/sbin/pure-ftpd" --help 2>&1 | head -n1 || true)
pyftpdlib_says="python3 not available"
if [[ -x /usr/bin/python3 ]]; then
  pyftpdlib_says=$(PYTHONPATH="$PYFTPDLIB" /usr/bin/python3 -c \
    'import sys, pyftpdlib; print("pyftpdlib", pyftpdlib.__ver__, "on Python", sys.version.split()[0])' 2>&1 || true)
fi

{
  echo "vsftpd $(deb_version vsftpd) ($vsftpd_says)"
  echo "proftpd $(deb_version proftpd-core) ($proftpd_says)"
  echo "pure-ftpd $(deb_version pure-ftpd) ($pureftpd_says)"
  echo "pyftpdlib $(deb_version python3-pyftpdlib) ($pyftpdlib_says)"
} | tee "$CACHE/versions.txt"

if ((${#problems[@]})); then
  for problem in "${problems[@]}"; do echo "interop-setup: ERROR: $problem" >&2; done
  exit 1
fi
echo "interop-setup: ready; servers unpacked under ${ROOT#"$PWD"/}"
