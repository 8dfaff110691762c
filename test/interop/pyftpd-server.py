"""A pyftpdlib server in the foreground, for ftp2s3's interop suite.

Started by test/interop/servers.ts with Debian's /usr/bin/python3 and PYTHONPATH pointing at the
python3-pyftpdlib package that scripts/interop-setup.sh unpacked (pyftpdlib is not installed).
The login comes from the environment (FTP2S3_INTEROP_USER, FTP2S3_INTEROP_PASSWORD), not from argv.
With --run-as UID:GID (used when the tests run as root) the server binds its port, then drops to that
account, as the other servers do for their sessions.
"""

import argparse
import logging
import os
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler
from pyftpdlib.servers import FTPServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--passive", required=True, help="MIN-MAX passive port range")
    parser.add_argument("--root", required=True, help="the user's home: the served tree")
    parser.add_argument("--run-as", help="UID:GID to switch to once the port is bound")
    parser.add_argument(
        "--raw-names",
        action="store_true",
        help="names are the bytes on disk, not UTF-8 (a Latin-1 or Windows code page server)",
    )
    parser.add_argument(
        "--throttle",
        type=int,
        help="bytes a second each data connection sends at most (one session over a slow link)",
    )
    args = parser.parse_args()

    user = os.environ["FTP2S3_INTEROP_USER"]
    password = os.environ["FTP2S3_INTEROP_PASSWORD"]
    low, high = (int(p) for p in args.passive.split("-"))

    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s pyftpdlib[%(process)d] %(message)s"
    )

    authorizer = DummyAuthorizer()
    # e l r: cwd, list, retrieve; a d f m w M T: append, delete, rename, mkdir, store, chmod, mtime.
    authorizer.add_user(user, password, args.root, perm="elradfmwMT")

    class Handler(FTPHandler):
        if args.raw_names:
            # pyftpdlib 1.5 reads commands and writes listings as UTF-8 with `unicode_errors`: with
            # surrogateescape, bytes that are not UTF-8 pass through both ways, as they do through
            # Python's own file system calls; so the server sends and takes the names' bytes on disk.
            # (pyftpdlib 2 has an `encoding` attribute instead.) Replies get the same treatment.
            unicode_errors = "surrogateescape"

            def push(self, s):
                # FTPHandler's own push encodes strictly; its parent's takes the bytes.
                super(FTPHandler, self).push(s.encode("utf8", self.unicode_errors))

    Handler.authorizer = authorizer
    if args.throttle:
        # Per data connection: every session is held to the rate, however many run at once.
        class Throttled(ThrottledDTPHandler):
            write_limit = args.throttle

        Handler.dtp_handler = Throttled
    Handler.passive_ports = list(range(low, high + 1))
    Handler.permit_foreign_addresses = False

    server = FTPServer((args.host, args.port), Handler)
    server.max_cons = 64
    server.max_cons_per_ip = 64

    if args.run_as:
        uid, gid = (int(part) for part in args.run_as.split(":"))
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        logging.info("running as uid %d gid %d", uid, gid)

    server.serve_forever(handle_exit=True)


if __name__ == "__main__":
    main()
