"""What `outreach cluster up|status|down` does to the machine: packages, PostgreSQL, supervisord (a daemon,
driven over its XML-RPC socket in var/cluster), health checks and the webhook's registration.

Every message goes to stderr (French, for whoever runs the cluster); the CLI prints the one JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from supervisor.xmlrpc import SupervisorTransport

from outreach import PROJECT_ROOT, rasa_model, rasa_store
from outreach.cluster.topology import (
    APP_PREFIXES,
    DATABASE_NAME,
    LOOPBACK,
    Binaries,
    Layout,
    Paths,
    Program,
    nginx_conf,
    plan,
    supervisord_conf,
    supervisord_env,
    up_line,
)
from outreach.config import DEFAULT_API_BASE, Settings

DEPS_SCRIPT = PROJECT_ROOT / "scripts" / "cluster-deps.sh"
SYSTEM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
STOP_TIMEOUT = 120.0  # supervisord kills what has not stopped after each program's stopwaitsecs


class ClusterError(Exception):
    """A failure to report in one French sentence, with the exit code (2: refused before starting anything)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def say(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _rel(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(PROJECT_ROOT))
    return str(path)


# --------------------------------------------------------------------------- packages


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SYSTEM_DIRS))


def postgres_bindir() -> Path | None:
    """The newest Debian PostgreSQL (/usr/lib/postgresql/<version>/bin), as scripts/postgres.sh finds it."""
    found = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "postgres").exists()]
    return max(found, key=lambda d: [int(p) if p.isdigit() else 0 for p in d.parent.name.split(".")], default=None)


def ensure_packages(*, postgres: bool) -> Binaries:
    """redis-server and nginx (and PostgreSQL when the cluster starts its own): scripts/cluster-deps.sh
    installs the missing Debian packages when run as root, else says what to install."""
    wanted = ["redis", "nginx"] + (["postgresql"] if postgres else [])
    missing = [
        name
        for name, present in (
            ("redis", _which("redis-server")),
            ("nginx", _which("nginx")),
            ("postgresql", postgres_bindir() if postgres else True),
        )
        if name in wanted and not present
    ]
    if missing:
        done = subprocess.run(["bash", str(DEPS_SCRIPT), *missing], stdout=sys.stderr, check=False)  # noqa: S603, S607
        if done.returncode != 0:
            raise ClusterError(f"paquets manquants ({', '.join(missing)}) : voir le message de {_rel(DEPS_SCRIPT)}")
    redis_server, nginx, bindir = _which("redis-server"), _which("nginx"), postgres_bindir()
    if redis_server is None or nginx is None or (postgres and bindir is None):
        raise ClusterError("redis-server, nginx ou PostgreSQL introuvable après l'installation")
    return Binaries(redis_server, nginx, str(bindir / "postgres") if postgres and bindir else None)


# --------------------------------------------------------------------------- ports, processes


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no clash
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    """Whether this process still runs (a zombie waiting for its parent to reap it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (alive := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive


# --------------------------------------------------------------------------- supervisord


def rpc(paths: Paths) -> Any:
    """supervisord's XML-RPC interface over its Unix socket (what supervisorctl uses)."""
    return xmlrpc.client.ServerProxy(
        "http://localhost", transport=SupervisorTransport(None, None, f"unix://{paths.socket}")
    )


def supervisord_state(paths: Paths) -> str | None:
    """RUNNING, SHUTDOWN… or None when no supervisord answers on the cluster's socket."""
    if not paths.socket.exists():
        return None
    try:
        return str(rpc(paths).supervisor.getState()["statename"])
    except (OSError, xmlrpc.client.Error):
        return None


def process_info(paths: Paths) -> list[dict[str, Any]]:
    return list(rpc(paths).supervisor.getAllProcessInfo())


def _start_supervisord(paths: Paths, environ: Mapping[str, str]) -> None:
    argv = [sys.executable, "-m", "supervisor.supervisord", "-c", str(paths.conf)]
    done = subprocess.run(  # noqa: S603 - our interpreter, our configuration file
        argv, env=supervisord_env(environ), cwd=PROJECT_ROOT, stdout=sys.stderr, stderr=sys.stderr, check=False
    )
    if done.returncode != 0:
        raise ClusterError(f"supervisord n'a pas démarré (code {done.returncode}) : voir {_rel(paths.logs)}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if supervisord_state(paths) == "RUNNING":
            return
        time.sleep(0.2)
    raise ClusterError(f"supervisord ne répond pas sur {_rel(paths.socket)} : voir {_rel(paths.logs)}/supervisord.log")


# --------------------------------------------------------------------------- files


def _write_private(path: Path, content: str) -> None:
    """Written with mode 0600 from the start (it holds secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(content)


def _prepare_dirs(paths: Paths) -> None:
    # 0711: PostgreSQL (user postgres when we are root) goes through to its data directory, nobody lists it.
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.root.chmod(0o711)
    for directory in (paths.logs, paths.redis_dir, paths.nginx_dir / "tmp"):
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)


# --------------------------------------------------------------------------- PostgreSQL of the cluster's own


def _as_postgres(argv: list[str], as_root: bool) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if as_root else argv


def _own_postgres_url(paths: Paths, layout: Layout, bindir: Path, as_root: bool) -> str:
    """A PostgreSQL data directory in var/cluster/pgdata (created once, kept between `up`s) with a password
    of its own (var/cluster/pg.secret, mode 0600); returns the DATABASE_URL of the cluster's database."""
    if not (paths.pgdata / "PG_VERSION").exists():
        say(f"création de la base PostgreSQL dans {_rel(paths.pgdata)}")
        if as_root and subprocess.run(["id", "postgres"], capture_output=True, check=False).returncode != 0:  # noqa: S607
            subprocess.run(["useradd", "--system", "postgres"], check=True)  # noqa: S607 - as scripts/postgres.sh
        shutil.rmtree(paths.pgdata, ignore_errors=True)
        paths.pgdata.mkdir(mode=0o700)
        password = secrets.token_urlsafe(24)
        with tempfile.NamedTemporaryFile("w", dir=paths.root, prefix="pw-", delete=False) as pwfile:
            pwfile.write(password + "\n")
        try:
            if as_root:
                shutil.chown(paths.pgdata, "postgres")
                shutil.chown(pwfile.name, "postgres")
            argv = [str(bindir / "initdb"), "-D", str(paths.pgdata), "-U", "postgres", "-A", "scram-sha-256"]
            argv += [f"--pwfile={pwfile.name}", "-E", "UTF8", "--locale=C.UTF-8"]
            done = subprocess.run(  # noqa: S603 - PostgreSQL's own initdb
                _as_postgres(argv, as_root), capture_output=True, text=True, check=False
            )
        finally:
            os.unlink(pwfile.name)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            raise ClusterError("initdb a échoué (voir ci-dessus)")
        _write_private(paths.pg_secret, password + "\n")
    if not paths.pg_secret.exists():
        raise ClusterError(f"{_rel(paths.pg_secret)} manque : supprimez {_rel(paths.pgdata)} (la base du cluster)")
    password = paths.pg_secret.read_text().strip()
    url = URL.create(
        "postgresql+psycopg",
        username="postgres",
        password=password,
        host=LOOPBACK,
        port=layout.postgres_port,
        database=DATABASE_NAME,
    )
    return url.render_as_string(hide_password=False)


def _wait_postgres(database_url: str, timeout: float = 60.0) -> None:
    """Until PostgreSQL answers; then creates the cluster's database if it is not there yet."""
    admin = create_engine(
        make_url(database_url).set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with admin.connect() as connection:
                    exists = connection.execute(
                        text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": DATABASE_NAME}
                    ).first()
                    if exists is None:
                        connection.execute(text(f'CREATE DATABASE "{DATABASE_NAME}"'))
                return
            except Exception as exc:  # OperationalError while it starts
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"PostgreSQL ne répond pas ({type(exc).__name__}) : voir var/cluster/logs/postgres.log"
                    ) from None
                time.sleep(0.5)
    finally:
        admin.dispose()


def _stop_stale_postgres(paths: Paths) -> bool:
    """A PostgreSQL of the cluster still running without its supervisord (killed): stopped (fast shutdown)."""
    try:
        pid = int((paths.pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    if not _alive(pid):
        return False
    with contextlib.suppress(OSError):
        if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    if _wait_gone([pid], 60):
        os.kill(pid, signal.SIGKILL)
    return True


# --------------------------------------------------------------------------- health


async def _healthy(http: httpx.AsyncClient, program: Program) -> bool:
    target = program.health
    if target is None or target == "postgresql":  # PostgreSQL: checked with SQL before the migrations
        return True
    if target.startswith("redis://"):
        host, _, port = target.removeprefix("redis://").partition(":")
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 2)
            try:
                writer.write(b"PING\r\n")
                await writer.drain()
                return (await asyncio.wait_for(reader.readline(), 2)).startswith(b"+PONG")
            finally:
                writer.close()
        except (OSError, TimeoutError):
            return False
    try:
        return (await http.get(target)).status_code == 200
    except httpx.HTTPError:
        return False


async def wait_healthy(paths: Paths, programs: list[Program], timeout: float) -> dict[str, str]:  # noqa: ASYNC109
    """Until every program answers its health check; returns those that did not in time (name → why)."""
    pending = {p.name: p for p in programs}
    states: dict[str, str] = {}
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=2.0) as http:
        while pending:
            states = {i["name"]: i["statename"] for i in process_info(paths)}
            names = list(pending)
            results = await asyncio.gather(*(_healthy(http, pending[n]) for n in names))
            for name, ok in zip(names, results, strict=True):
                if ok and states.get(name) == "RUNNING":
                    say(f"{name} prêt ({time.monotonic() - started:.0f} s)")
                    del pending[name]
            given_up = [n for n in pending if states.get(n) in ("FATAL", "EXITED", "STOPPED")]
            if given_up or not pending or time.monotonic() - started > timeout:
                break
            await asyncio.sleep(1.0)
    return {
        n: "lancé, ne répond pas encore" if states.get(n) == "RUNNING" else states.get(n, "inconnu") for n in pending
    }


# --------------------------------------------------------------------------- up, status, down


def _database_url(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """DATABASE_URL when it is PostgreSQL (the cluster then uses it), else None (it starts its own)."""
    if "DATABASE_URL" not in environ:
        return None
    if make_url(settings.database_url).get_backend_name() == "postgresql":
        return settings.database_url
    say("DATABASE_URL n'est pas PostgreSQL : le cluster démarre sa propre base PostgreSQL")
    return None


def up(
    layout: Layout,
    *,
    settings: Settings,
    environ: Mapping[str, str],
    prepare_database: Callable[[str], None],
    timeout: float,
) -> str:
    """Start the whole topology and return the JSON line (the processes keep running under supervisord).
    ClusterError with code 2: refused, nothing started; code 1 once supervisord runs: left running for
    inspection (`outreach cluster down` stops it)."""
    paths = layout.paths
    if supervisord_state(paths) is not None:
        raise ClusterError(
            "un cluster tourne déjà (outreach cluster status) : arrêtez-le d'abord avec outreach cluster down", 2
        )
    if (
        not settings.sandbox
        and settings.telegram_api_base_url == DEFAULT_API_BASE
        and not layout.webhook_url.startswith("https://")
    ):
        raise ClusterError(
            "Telegram n'envoie ses mises à jour qu'à une adresse https:// joignable d'internet : donnez "
            "--public-url https://… (un proxy TLS devant nginx), ou lancez le bac à sable (sans TELEGRAM_BOT_TOKEN)",
            2,
        )
    external = _database_url(settings, environ)
    busy = [
        f"{port} ({name})"
        for name, port in layout.listening_ports(postgres=external is None, sandbox=settings.sandbox).items()
        if not port_free(port)
    ]
    if busy:
        raise ClusterError(
            f"port(s) déjà utilisé(s) sur {LOOPBACK} : {', '.join(busy)}. Libérez-les ou choisissez "
            "d'autres ports (--base-port, --port)",
            2,
        )
    as_root = os.geteuid() == 0
    binaries = ensure_packages(postgres=external is None)
    try:
        rasa_model.train(quiet=True)  # returns at once when the model is current
    except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
        raise ClusterError(f"modèle Rasa indisponible : {exc}") from None
    _prepare_dirs(paths)
    if external is None:
        assert binaries.postgres is not None  # noqa: S101 - ensure_packages(postgres=True) found it
        database_url = _own_postgres_url(paths, layout, Path(binaries.postgres).parent, as_root)
    else:
        database_url = external
    programs = plan(
        layout,
        environ=environ,
        rasa_token=settings.rasa_secret or secrets.token_urlsafe(32),  # one per cluster unless configured
        database_url=database_url,
        tracker_store=rasa_store.rasa_url(database_url),
        binaries=binaries,
        sandbox=settings.sandbox,
        as_root=as_root,
    )
    _write_configuration(layout, programs, binaries, environ, as_root=as_root)
    state = {"webhook": layout.webhook_url, "console": layout.base_url, "workers": layout.workers, "rasa": layout.rasa}
    state |= {"own_postgres": external is None, "sandbox": settings.sandbox}
    paths.state.write_text(json.dumps(state) + "\n")

    say(f"démarrage de supervisord ({_rel(paths.conf)}), journaux dans {_rel(paths.logs)}/")
    _start_supervisord(paths, environ)
    try:
        _start_and_wait(
            layout, programs, database_url, own_postgres=external is None, prepare=prepare_database, timeout=timeout
        )
    except (OSError, xmlrpc.client.Error) as exc:  # supervisord died or refused a request
        raise ClusterError(
            f"supervisord ne répond plus ({type(exc).__name__}) : voir {_rel(paths.logs)}/supervisord.log ; "
            "tout arrêter : outreach cluster down"
        ) from exc
    except ClusterError as exc:
        raise ClusterError(
            f"{exc}. Les processus restent lancés pour examen ; tout arrêter : outreach cluster down"
        ) from exc
    pids = {i["name"]: int(i["pid"]) for i in process_info(paths)}
    if settings.sandbox:
        say(f"bac à sable : http://{LOOPBACK}:{layout.sandbox_port}/ pour écrire au bot comme un habitant")
    say(f"cluster prêt : console {layout.base_url}/, webhook {layout.webhook_url}")
    return up_line(layout, pids)


def _write_configuration(
    layout: Layout, programs: list[Program], binaries: Binaries, environ: Mapping[str, str], *, as_root: bool
) -> None:
    """Rasa's endpoints files, nginx's configuration (checked by `nginx -t`), supervisord's (mode 0600)."""
    paths = layout.paths
    for i in range(1, layout.rasa + 1):  # all replicas share the tracker store: Rasa's Redis lock store
        rasa_model.endpoints_file(
            paths.endpoints(i),
            host=LOOPBACK,
            actions_port=layout.actions_port(i),
            tracker_store=True,
            lock_store_redis=layout.redis_url,
        )
    paths.nginx_conf.write_text(nginx_conf(layout, as_root=as_root))
    checked = subprocess.run(  # noqa: S603 - nginx's own configuration test
        [binaries.nginx, "-t", "-q", "-e", "stderr", "-c", str(paths.nginx_conf)], capture_output=True, text=True
    )
    if checked.returncode != 0:
        print(checked.stderr, file=sys.stderr)
        raise ClusterError(f"configuration nginx refusée par nginx -t : {_rel(paths.nginx_conf)}")
    conf, dropped = supervisord_conf(paths, programs, supervisord_env(environ))
    for name, keys in dropped.items():
        say(f"{name} : variable(s) d'environnement non transmise(s) (valeur impossible à écrire) : {', '.join(keys)}")
    _write_private(paths.conf, conf)


def _start_and_wait(
    layout: Layout,
    programs: list[Program],
    database_url: str,
    *,
    own_postgres: bool,
    prepare: Callable[[str], None],
    timeout: float,
) -> None:
    """Once supervisord runs the infrastructure: the database, then every other process, then the webhook."""
    paths = layout.paths
    if own_postgres:
        _wait_postgres(database_url)
    say("migrations et données de référence")
    prepare(database_url)  # once, before any worker starts
    try:
        rasa_store.prepare(database_url)  # Rasa's schema in the same database
    except SQLAlchemyError as exc:
        raise ClusterError(f"schéma du tracker store de Rasa non créé ({type(exc).__name__})") from None
    server = rpc(paths).supervisor
    for program in programs:
        if not program.autostart:
            server.startProcess(program.name, False)  # all at once: each Rasa takes 30-60 s to load its model
    actions = _count(layout.rasa, "serveur d'actions", "serveurs d'actions")
    workers = _count(layout.workers, "worker", "workers")
    say(f"démarrage de {layout.rasa} Rasa, {actions} et {workers} ; en attente qu'ils répondent…")
    failed = asyncio.run(wait_healthy(paths, programs, timeout))
    if failed:
        details = ", ".join(f"{name} ({why})" for name, why in failed.items())
        logs = ", ".join(_rel(paths.logs / f"{name}.log") for name in failed)
        raise ClusterError(f"pas prêt(s) après {timeout:.0f} s : {details}. Journaux : {logs}")
    worker = next(p for p in programs if p.name == "worker-1")
    say(f"enregistrement du webhook {layout.webhook_url}")
    registered = subprocess.run(
        [sys.executable, "-m", "outreach.cluster.webhook"], env=worker.env, stdout=sys.stderr, check=False
    )
    if registered.returncode != 0:
        raise ClusterError("le webhook n'a pas été enregistré")


def status(paths: Paths) -> tuple[dict[str, Any], int]:
    """Each program's state and pid; exit code 0 when all run, 1 otherwise, 3 when no cluster runs."""
    try:
        infos = process_info(paths) if paths.socket.exists() else None
    except (OSError, xmlrpc.client.Error):
        infos = None
    if infos is None:
        return {"up": False, "processes": {}}, 3
    processes = {i["name"]: {"state": i["statename"], "pid": int(i["pid"]) or None} for i in infos}
    running = bool(processes) and all(p["state"] == "RUNNING" for p in processes.values())
    result: dict[str, Any] = {"up": running}
    with contextlib.suppress(OSError, ValueError):
        saved = json.loads(paths.state.read_text())
        result |= {"webhook": saved["webhook"], "console": saved["console"]}
    result["processes"] = processes
    return result, 0 if running else 1


def _stop_apps(server: Any) -> None:
    """Workers first (they stop taking updates), then Rasa, then the action servers: each kind all at once."""
    for prefix in APP_PREFIXES:
        names = [
            i["name"]
            for i in server.getAllProcessInfo()
            if i["name"].startswith(prefix) and i["statename"] in ("RUNNING", "STARTING", "BACKOFF")
        ]
        for name in names:
            with contextlib.suppress(xmlrpc.client.Fault):  # stopped meanwhile
                server.stopProcess(name, False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = {i["name"]: i["statename"] for i in server.getAllProcessInfo()}
            if all(states.get(n) not in ("RUNNING", "STARTING", "BACKOFF", "STOPPING") for n in names):
                break
            time.sleep(0.2)


def down(paths: Paths) -> str:
    """Stop supervisord and everything it runs (and wait until they are gone); idempotent."""
    supervisord_pid: int | None = None
    pids: list[int] = []
    try:
        if paths.socket.exists():
            server = rpc(paths).supervisor
            supervisord_pid = int(server.getPID())
            pids = [int(i["pid"]) for i in server.getAllProcessInfo() if i["pid"]]
            say(f"arrêt de {len(pids)} processus et de supervisord…")
            _stop_apps(server)
            server.shutdown()  # the infrastructure, in the reverse order of the priorities
    except (OSError, xmlrpc.client.Error):
        if supervisord_pid is not None:  # it answered, then not: SIGTERM is its own clean shutdown too
            with contextlib.suppress(ProcessLookupError):
                os.kill(supervisord_pid, signal.SIGTERM)
    if supervisord_pid is None:
        stale = _stop_stale_postgres(paths)
        return "aucun cluster en cours" + (" (un PostgreSQL resté seul a été arrêté)" if stale else "")
    left = _wait_gone([supervisord_pid, *pids], STOP_TIMEOUT)
    for pid in left:  # ours, and still there after supervisord's own SIGKILL: last resort
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if left:
        _wait_gone(left, 10)
    _stop_stale_postgres(paths)
    for path in (paths.socket, paths.pidfile):
        path.unlink(missing_ok=True)
    return f"cluster arrêté ({len(pids)} processus)"
