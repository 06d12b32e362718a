"""A throwaway PostgreSQL cluster for tests and the benchmark.

Started from the installed server binaries (initdb, pg_ctl) in a temporary folder, on a free
port of 127.0.0.1 with trust authentication, and removed afterwards. Run as root (CI
containers), the server runs as the `postgres` user, since PostgreSQL refuses to run as root.

pytest fixtures: `postgres_cluster` (one per session) and `postgres_url` (a fresh database
for each test). Without server binaries they skip and say why.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

NO_SERVER = (
    "no PostgreSQL server binaries (initdb, pg_ctl) found via pg_config, /usr/lib/postgresql/*/bin "
    "or PATH; install the `postgresql` package (.ci/run does) to run the PostgreSQL tests"
)


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, the newest version first."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += [Path(p) for p in sorted(versions, key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0, reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One running PostgreSQL server in its own temporary folder."""

    def __init__(self, bindir: Path, *, durable: bool = False, folder: Path | None = None):
        self.bindir = bindir
        self.durable = durable  # False: fsync off, for fast tests
        # A folder given is kept, with its databases, for the next start (the benchmarks').
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder or Path(tempfile.mkdtemp(prefix="frontdesk-pg-"))
        self.data = self.folder / "data"
        self.port = 0
        self._names = itertools.count(1)
        self._new: set[str] = set()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no `postgres` user to run the server") from None
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self._as_user, *args], capture_output=True, text=True)
        if result.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}\n{tail}")

    def start(self) -> Cluster:
        if not (self.data / "PG_VERSION").exists():
            self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--no-sync", "--locale=C")
        settings = f"-c listen_addresses=127.0.0.1 -k {self.folder} -c max_connections=100"
        if not self.durable:
            settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        for attempt in range(3):  # the free port may be taken between finding and binding it
            self.port = _free_port()
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
                          "-o", f"-p {self.port} {settings}", "-w", "-t", "60", "start")
                return self
            except RuntimeError:
                if attempt == 2:
                    raise
        return self

    def stop(self, remove: bool = True) -> None:
        if self.data.exists():
            mode = "immediate" if remove else "fast"  # a kept cluster shuts down cleanly
            subprocess.run([*self._as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode,
                            "-w", "stop"], capture_output=True)
        if remove:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def database(self, name: str) -> str:
        """The database `name`, made if the cluster has none of that name; its URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
                self._new.add(name)
        return self.url(name)

    def created(self, url: str) -> bool:
        """Whether `database` made this one just now (it is empty)."""
        return url.rsplit("/", 1)[1] in self._new

    def create_database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"frontdesk_{next(self._names)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_cluster():
    pytest.importorskip("psycopg", reason="the PostgreSQL driver is missing: pip install -e '.[postgres]'")
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(NO_SERVER)
    cluster = Cluster(bindir).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster) -> str:
    """A fresh, empty database on the session's cluster."""
    return postgres_cluster.create_database()
