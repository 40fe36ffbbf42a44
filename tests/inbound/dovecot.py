"""A real IMAP server for the tests: Dovecot (Debian's dovecot-imapd) on loopback, in
a folder of its own, with one user and a Maildir the tests can fill directly."""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
AVAILABLE = Path(DOVECOT).is_file()
SKIP_REASON = (
    "Dovecot is not installed (Debian: apt-get install dovecot-imapd); the IMAP tests "
    "need a real server"
)
USER, PASSWORD = "desk", "imap-secret"
_numbers = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


class Dovecot:
    def __init__(self) -> None:
        # Not pytest's tmp_path: mail processes run as an unprivileged user, who must be
        # able to reach the Maildir (pytest's folders are private to their owner).
        self.root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
        self.root.chmod(0o755)
        self.port = _free_port()
        self.tls_port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            self.mail_user = pwd.getpwnam("nobody")
        else:
            self.mail_user = pwd.getpwuid(os.geteuid())
        self.maildir = self.root / "home" / USER / "Maildir"

    def start(self) -> None:
        for sub in ("new", "cur", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        self._own(self.root / "home")
        cert, key = _self_signed(self.root)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        user, group = self.mail_user.pw_name, self.mail_user.pw_gid
        unprivileged = (
            ""
            if os.geteuid() == 0
            else (
                f"default_internal_user = {user}\ndefault_login_user = {user}\n"
                f"default_internal_group = {group}\n"
            )
        )
        (self.root / "dovecot.conf").write_text(
            f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{self.root}/home/%u/Maildir
{unprivileged}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={self.mail_user.pw_uid} gid={group} home={self.root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
  }}
}}
service anvil {{
  chroot =
}}
"""
        )
        self.process = subprocess.Popen(  # noqa: S603 - the installed server, our config
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 1),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"Dovecot did not start: {self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def _own(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        for folder, dirs, files in os.walk(path):
            for name in [folder, *(os.path.join(folder, d) for d in dirs)]:
                os.chown(name, self.mail_user.pw_uid, self.mail_user.pw_gid)
            for name in files:
                os.chown(os.path.join(folder, name), self.mail_user.pw_uid, self.mail_user.pw_gid)

    def drop(self, raw: bytes) -> None:
        """A mail straight into the Maildir, as a local delivery agent would put it."""
        name = f"{time.time():.6f}.{next(_numbers)}.helpdesk-test"
        path = self.maildir / "new" / name
        path.write_bytes(raw)
        if os.geteuid() == 0:
            os.chown(path, self.mail_user.pw_uid, self.mail_user.pw_gid)

    @contextlib.contextmanager
    def client(self) -> Iterator[imaplib.IMAP4]:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            imap.login(USER, PASSWORD)
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def unseen(self, folder: str = "INBOX") -> int:
        with self.client() as imap:
            imap.select(folder)
            _, data = imap.search(None, "UNSEEN")
            return len(data[0].split())

    def count(self, folder: str = "INBOX") -> int:
        with self.client() as imap:
            _, data = imap.select(folder)
            return int(data[0])
