"""A real PostgreSQL server for the tests, and stores on either back end.

The fixtures in ``tests/conftest.py`` use this module:

* ``postgres_server`` (session): a :class:`PostgresServer`, found this way:

  1. ``SAFESHARE_TEST_POSTGRES_URL`` is set: that server and database. Its
     user needs ``CREATE`` on the database (every test gets its own schema,
     dropped afterwards) and ``CREATEDB`` (one test makes a non-UTF8
     database). The server is never stopped by the tests, and the few tests
     that need the throwaway server's extras (stopping it, a password role)
     are skipped.
  2. Otherwise, if PostgreSQL's ``initdb`` and ``pg_ctl`` are installed
     (``/usr/lib/postgresql/*/bin``, ``/usr/pgsql-*/bin``, or on ``PATH``): a
     **throwaway cluster** in a new temporary directory, listening only on
     127.0.0.1 on a free port (no Unix socket), ``trust`` authentication for
     loopback (one extra role, :data:`PASSWORD_ROLE`, must log in with a
     password, for the login-failure tests), ``fsync`` off (nothing in it is
     worth keeping). PostgreSQL refuses to run as root, so when the tests run
     as root the directory is given to the ``postgres`` user and ``initdb`` /
     ``pg_ctl`` run as that user (``runuser -u postgres --``, else
     ``su postgres``); otherwise they run as the current user. It is stopped
     (``pg_ctl stop -m fast``) and its directory removed at the end of the
     session. Cost: about half a second, once per session.
  3. Otherwise the PostgreSQL tests are **skipped** with the reason shown in
     pytest's summary, unless ``SAFESHARE_REQUIRE_POSTGRES=1`` (as ``.ci/run``
     sets), which makes them fail instead.

* ``postgres_url`` (session): the URL of a database created for the session.
* ``fresh_postgres_url`` (per test): the session database's URL with
  ``options=-c search_path=<schema>``, where the schema is new and empty and
  is dropped (``CASCADE``) after the test. Every table the test creates,
  ``safeshare_schema`` included, lands in it, so tests never see each other's
  rows. A schema costs about a millisecond; a ``CREATE DATABASE`` per test
  costs 30 to 100 ms. What a schema does not isolate: advisory locks (they
  are per database; tests run one at a time and every store is closed after
  its test, so none is left held) and catalog queries, which must say
  ``schemaname = current_schema()``.
* ``store_factory`` (per test, parametrized ``sqlite`` / ``postgresql``): a
  :class:`StoreFactory` opening stores on one fresh database of that back end;
  a test that takes it runs once per back end.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest

from safeshare.storage import Dialect, Store, open_store
from safeshare.storage.sqlite import DEFAULT_BUSY_TIMEOUT

if TYPE_CHECKING:
    import psycopg

ENV_URL: Final = "SAFESHARE_TEST_POSTGRES_URL"
ENV_REQUIRE: Final = "SAFESHARE_REQUIRE_POSTGRES"
#: A role of the throwaway cluster that must log in with :data:`PASSWORD_ROLE_PASSWORD`.
PASSWORD_ROLE: Final = "safeshare_pw"
PASSWORD_ROLE_PASSWORD: Final = "Sw0rdfish-only-for-tests"
SESSION_DB: Final = "safeshare_test"
SUPERUSER: Final = "postgres"

_SETTINGS: Final = (
    "listen_addresses = '127.0.0.1'",
    "unix_socket_directories = ''",
    "fsync = off",  # a throwaway cluster: speed over crash safety
    "synchronous_commit = off",
    "full_page_writes = off",
    "max_connections = 100",
    "password_encryption = 'scram-sha-256'",
)


def postgres_required() -> bool:
    """Whether missing PostgreSQL must fail the tests instead of skipping them."""
    return os.environ.get(ENV_REQUIRE, "").strip() not in ("", "0")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl`` (the newest version), if any."""
    found: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        found.append(Path(on_path).resolve().parent)
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin"):
        found.extend(Path(p) for p in glob.glob(pattern))
    usable = [d for d in found if (d / "initdb").is_file() and (d / "pg_ctl").is_file()]

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", str(path))[:2])

    return max(usable, key=version) if usable else None


def _connect(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def with_search_path(url: str, schema: str) -> str:
    """*url* with ``options=-c search_path=<schema>`` (replacing any ``options``)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ValueError(f"not a plain schema name: {schema!r}")
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-c search_path={schema}"))
    return parts._replace(query=urlencode(query, quote_via=quote)).geturl()


def search_path_of(url: str) -> str:
    """The schema that :func:`with_search_path` put into *url*."""
    options = dict(parse_qsl(urlsplit(url).query)).get("options", "")
    match = re.fullmatch(r"-c search_path=([a-z_][a-z0-9_]*)", options)
    if match is None:
        raise ValueError("the URL has no search_path option")
    return match.group(1)


@dataclass
class _Cluster:
    """A throwaway cluster run with ``initdb`` / ``pg_ctl``."""

    bindir: Path
    base: Path
    port: int
    run_as: str | None  # the OS user that runs the server (when we are root)

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def log(self) -> Path:
        return self.base / "postgres.log"

    def run(self, tool: str, *args: str, timeout: float = 60) -> None:
        cmd = [str(self.bindir / tool), *args]
        if self.run_as is not None:
            if shutil.which("runuser"):
                cmd = ["runuser", "-u", self.run_as, "--", *cmd]
            else:
                cmd = ["su", self.run_as, "-s", "/bin/sh", "-c", shlex.join(cmd)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        proc = subprocess.run(
            cmd,
            cwd=self.base,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{shlex.join(cmd)} failed with exit code {proc.returncode}:\n"
                f"{proc.stdout}{proc.stderr}{self.log_tail()}"
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "server log (end):\n" + "\n".join(text.splitlines()[-lines:])

    def init(self) -> None:
        self.run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        hba = (
            "# throwaway test cluster: loopback TCP only\n"
            f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 trust\n"
        )
        (self.data / "pg_hba.conf").write_text(hba, encoding="utf-8")

    def configure_port(self) -> None:
        # postgresql.auto.conf is read last and rewritten here on every attempt.
        text = "\n".join((*_SETTINGS, f"port = {self.port}")) + "\n"
        (self.data / "postgresql.auto.conf").write_text(text, encoding="utf-8")

    def start(self) -> None:
        self.run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "-s", "start"
        )

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "-s", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@dataclass
class PostgresServer:
    """A PostgreSQL server the tests may create databases on."""

    #: The session database's URL.
    url: str
    #: ``host:port`` as safeshare's messages name it.
    address: str
    #: The throwaway cluster, or ``None`` for a server named by SAFESHARE_TEST_POSTGRES_URL.
    cluster: _Cluster | None = None
    _admin: psycopg.Connection[tuple[Any, ...]] | None = field(default=None, repr=False)
    _names: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @property
    def managed(self) -> bool:
        """Whether the tests started this server (and so may stop and restart it)."""
        return self.cluster is not None

    @property
    def password_role(self) -> tuple[str, str] | None:
        """(user, password) of a role that must give its password, if the server has one."""
        return (PASSWORD_ROLE, PASSWORD_ROLE_PASSWORD) if self.managed else None

    def url_for(self, dbname: str, *, user: str | None = None, password: str | None = None) -> str:
        """The session URL with another database (and optionally user/password)."""
        parts = urlsplit(self.url)
        netloc = parts.netloc.rpartition("@")[2]
        login = user if user is not None else parts.username
        secret = password if user is not None or password is not None else parts.password
        if login:
            userinfo = quote(login, safe="")
            if secret is not None:
                userinfo += ":" + quote(secret, safe="")
            netloc = f"{userinfo}@{netloc}"
        return parts._replace(netloc=netloc, path="/" + quote(dbname, safe="")).geturl()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on the session database (autocommit), reconnecting if needed."""
        import psycopg

        for attempt in (1, 2):
            if self._admin is None or self._admin.closed:
                self._admin = _connect(self.url)
            try:
                cur = self._admin.execute(sql, params or None)
                return cur.fetchall() if cur.description is not None else []
            except psycopg.OperationalError:
                if attempt == 2 or not self._admin.broken:
                    raise
                self._admin.close()  # the server was restarted: reconnect once
                self._admin = None
        raise AssertionError("unreachable")

    def create_schema(self) -> str:
        """Create a new empty schema; return a URL whose ``search_path`` is that schema."""
        name = f"safeshare_t{next(self._names)}_{secrets.token_hex(3)}"
        self.execute(f"CREATE SCHEMA {_quote_ident(name)}")
        return with_search_path(self.url, name)

    def drop_schema(self, url: str) -> None:
        """Drop the schema of a URL made by :meth:`create_schema`, with its tables."""
        self.execute(f"DROP SCHEMA IF EXISTS {_quote_ident(search_path_of(url))} CASCADE")

    def stop(self) -> None:
        """Stop the throwaway server (``pg_ctl stop -m fast``)."""
        if self.cluster is None:
            raise RuntimeError("only the throwaway server can be stopped")
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        self.cluster.stop()

    def start(self) -> None:
        """Start the throwaway server again (same port, same data)."""
        if self.cluster is None:
            raise RuntimeError("only the throwaway server can be started")
        self.cluster.start()

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None


def _external_server(url: str) -> PostgresServer:
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url)
    server = PostgresServer(
        url=url, address=f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
    )
    server.execute("SELECT 1")  # fail now, with psycopg's message, if it is unreachable
    return server


def _throwaway_server(bindir: Path) -> Iterator[PostgresServer]:
    run_as: str | None = None
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail(
                "the tests run as root, PostgreSQL refuses to, and there is no 'postgres' "
                "user to run it as (create one, or run the tests as another user)"
            )
        run_as = owner.pw_name
    base = Path(tempfile.mkdtemp(prefix="safeshare-pg-"))
    cluster = _Cluster(bindir=bindir, base=base, port=0, run_as=run_as)
    server: PostgresServer | None = None
    try:
        if owner is not None:
            os.chown(base, owner.pw_uid, owner.pw_gid)
        cluster.init()
        for attempt in range(3):  # the free port may be taken between probe and bind
            cluster.port = free_port()
            cluster.configure_port()
            try:
                cluster.start()
                break
            except RuntimeError:
                if attempt == 2 or "already in use" not in cluster.log_tail():
                    raise
        address = f"127.0.0.1:{cluster.port}"
        admin_url = f"postgresql://{SUPERUSER}@{address}/postgres"
        with contextlib.closing(_connect(admin_url)) as admin:
            admin.execute(
                f"CREATE DATABASE {SESSION_DB} TEMPLATE template0 ENCODING 'UTF8' "
                "LC_COLLATE 'C' LC_CTYPE 'C'"
            )
            admin.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD_ROLE_PASSWORD}'")
        server = PostgresServer(
            url=f"postgresql://{SUPERUSER}@{address}/{SESSION_DB}",
            address=address,
            cluster=cluster,
        )
        yield server
    except RuntimeError as exc:
        pytest.fail(f"could not start a throwaway PostgreSQL server: {exc}")
    finally:
        if server is not None:
            server.close()
        try:
            if cluster.running():
                cluster.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


def postgres_server_for_session() -> Iterator[PostgresServer]:
    """The body of the ``postgres_server`` fixture (see the module docstring)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        reason = "psycopg is not installed (pip install -e '.[dev]')"
        if postgres_required():
            pytest.fail(f"{ENV_REQUIRE}=1 but {reason}")
        pytest.skip(reason)
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        server = _external_server(url)
        try:
            yield server
        finally:
            server.close()
        return
    bindir = find_bindir()
    if bindir is None:
        reason = (
            "PostgreSQL is not installed (no initdb/pg_ctl under /usr/lib/postgresql/*/bin "
            f"or on PATH) and {ENV_URL} is not set"
        )
        if postgres_required():
            pytest.fail(f"{ENV_REQUIRE}=1 but {reason}")
        pytest.skip(reason)
    yield from _throwaway_server(bindir)


@dataclass
class StoreFactory:
    """Opens stores on one fresh database of one back end; closes them after the test."""

    dialect: Dialect
    #: What :func:`~safeshare.storage.open_store` takes: a file path or a URL
    #: (a plain string, so it can be handed to another process).
    location: str
    _opened: list[Store] = field(default_factory=list, repr=False)

    def __call__(self, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Store:
        store = open_store(self.location, busy_timeout=busy_timeout)
        self._opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self._opened:
            store.close()
        self._opened.clear()
