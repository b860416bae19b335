"""A real PostgreSQL server of the tests' (and benchmarks') own, in a temporary folder, on a
free port of 127.0.0.1 (and a unix socket in that folder), stopped at the end.

The server is the one pgserver (a test extra) ships, the same version on every machine; where
that wheel does not install, the initdb on PATH. None at all fails the tests loudly: the
PostgreSQL store would otherwise ship untested while the run looks green.

initdb and postgres refuse to run as root, as the tests do in CI: then they run as `nobody`
(subprocess's user and group, no supplementary groups), from a copy of pgserver's install in
the temporary folder, which nobody can read wherever the checkout lies (0.2 s, 30 MB)."""

from __future__ import annotations

import importlib.util
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg

USER = "postgres"
# Faster, and nothing to keep: the data is thrown away at the end.
SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class PostgresServer:
    """initdb and pg_ctl start on `start`, pg_ctl stop and the folder removed on `stop`."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="bot-tests-postgres-"))
        self.port = _free_port()
        self._runner = _unprivileged_user() if os.geteuid() == 0 else None
        self._bin = _server_binaries(self.folder, copy=self._runner is not None)
        self._databases = itertools.count(1)

    def start(self) -> None:
        data = self.folder / "data"
        if self._runner is not None:
            os.chown(self.folder, self._runner.pw_uid, self._runner.pw_gid)
        self._run("initdb", "--no-sync", "--no-instructions", "--auth=trust", "-U", USER,
                  "-E", "UTF8", "-D", str(data))
        self._run("pg_ctl", "-D", str(data), "-l", str(self.folder / "server.log"), "-w",
                  "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                        f"{SERVER_OPTIONS}", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w",
                      "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        name = f"test_{next(self._databases)}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}".encode())
        return self.url(name)

    def _run(self, program: str, *args: str) -> None:
        runner: dict[str, Any] = {}
        if self._runner is not None:
            runner = {"user": self._runner.pw_uid, "group": self._runner.pw_gid,
                      "extra_groups": []}
        done = subprocess.run([str(self._bin / program), *args], cwd=self.folder,
                              capture_output=True, text=True, check=False, **runner)
        if done.returncode != 0:
            log = self.folder / "server.log"
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}"
                               + (f"\n{log.read_text()}" if log.exists() else ""))


def _server_binaries(folder: Path, *, copy: bool) -> Path:
    """The folder of initdb and pg_ctl: pgserver's (copied into `folder` if `copy`, for a user
    who may not reach the virtualenv), else the ones on PATH."""
    spec = importlib.util.find_spec("pgserver")  # found, not imported: it sets up more
    if spec is not None and spec.submodule_search_locations:
        package = Path(next(iter(spec.submodule_search_locations)))
        if not copy:
            return package / "pginstall" / "bin"
        # The binaries find their libraries at $ORIGIN/../../../pgserver.libs (auditwheel's).
        for part in ("pginstall/bin", "pginstall/lib", "pginstall/share"):
            shutil.copytree(package / part, folder / "site" / "pgserver" / part, symlinks=True)
        shutil.copytree(package.parent / "pgserver.libs", folder / "site" / "pgserver.libs")
        return folder / "site" / "pgserver" / "pginstall" / "bin"
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("no PostgreSQL server for the tests: install the test extra "
                           "(pip install -e '.[test]', which brings pgserver) or put "
                           "PostgreSQL's initdb and pg_ctl on PATH")
    return Path(initdb).parent


def _unprivileged_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        raise RuntimeError("the tests run as root and there is no user 'nobody' to run "
                           "PostgreSQL as (initdb and postgres refuse root)") from None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
