"""The cluster's shape, as pure functions: which ports, which processes with which argv and environment,
supervisord's and nginx's configuration files, and the JSON line `outreach cluster up` prints.

Ports, from `--base-port` B (default 7100, away from `outreach run`'s 5005/5055/8000/8443/8081):

    B       redis                 B+1   sandbox (Bot API emulator, no TELEGRAM_BOT_TOKEN)
    B+2     PostgreSQL (when the cluster starts its own)
    B+10+i  rasa-i                B+30+i  actions-i
    B+50+i  worker-i's webhook    B+70+i  worker-i's console           (i = 1…16)

and nginx on `--port` (default 8090): `/telegram` to the workers' webhook listeners, everything else to their
consoles (console sessions live in the database: any worker serves them).

Secrets (the bot token, the Rasa API token, the database password) never appear on a command line: they are
in the programs' `environment=` of supervisord's configuration file, which control.py writes with mode 0600.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from outreach import PROJECT_ROOT
from outreach.rasa_model import TRACKER_URL_VARIABLE, actions_server_argv, rasa_env, rasa_server_argv
from outreach.supervisor import SANDBOX_TOKEN

MAX_REPLICAS = 16
# The outbox's rate for all the workers together (one schedule in Redis). Below the 25/s of one process: sends
# leave on that schedule, yet a worker whose loop was busy a moment lets several out together, and Telegram
# counts arrivals (about 30/s); seen up to 32/s at arrival with 25/s on two loaded cores.
CLUSTER_OUTBOX_RATE = 20
RASA_LOCK_LIFETIME = 10  # seconds (TICKET_LOCK_LIFETIME): a turn takes < 2 s, the service waits 15 s for one
DEFAULT_WORKERS = 3
DEFAULT_RASA = 2
DEFAULT_BASE_PORT = 7100
DEFAULT_PORT = 8090
PORT_SPAN = 10 + 70 + MAX_REPLICAS  # B … B+86 at most
LOOPBACK = "127.0.0.1"
DATABASE_NAME = "outreach"
WEBHOOK_PATH = "/telegram"
NGINX_HEALTH_PATH = "/_cluster/nginx"  # answered by nginx itself
WEBHOOK_MAX_CONNECTIONS = 40
# What supervisord itself runs with: every child inherits it, each program's own environment comes on top
# (so a variable a program must not see, e.g. TELEGRAM_BOT_TOKEN for Rasa, is simply not in its environment).
SUPERVISORD_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME", "TMPDIR")
SECRET_KEYS = ("TELEGRAM_BOT_TOKEN", "OUTREACH_RASA_TOKEN", "DATABASE_URL", TRACKER_URL_VARIABLE)
# Every listener of the cluster is on loopback whatever the caller's environment says.
LOOPBACK_KEYS = ("OUTREACH_HOST", "OUTREACH_CONSOLE_HOST", "OUTREACH_RASA_HOST", "OUTREACH_ACTIONS_HOST")
# The programs started once the database is ready, and stopped first, each kind at once (down: workers, then Rasa,
# then action servers; then supervisord stops the rest in the reverse order of their priorities).
APP_PREFIXES = ("worker-", "rasa-", "actions-")


@dataclass(frozen=True)
class Paths:
    """Where a cluster keeps its files (var/cluster unless told otherwise, e.g. by a test)."""

    root: Path = PROJECT_ROOT / "var" / "cluster"

    @property
    def conf(self) -> Path:
        return self.root / "supervisord.conf"

    @property
    def socket(self) -> Path:
        return self.root / "supervisor.sock"

    @property
    def pidfile(self) -> Path:
        return self.root / "supervisord.pid"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def nginx_conf(self) -> Path:
        return self.root / "nginx.conf"

    @property
    def nginx_dir(self) -> Path:
        return self.root / "nginx"

    @property
    def redis_dir(self) -> Path:
        return self.root / "redis"

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def pg_secret(self) -> Path:
        return self.root / "pg.secret"

    @property
    def state(self) -> Path:
        return self.root / "cluster.json"

    def endpoints(self, index: int) -> Path:
        return self.root / f"endpoints-rasa-{index}.yml"


@dataclass(frozen=True)
class Layout:
    """How many of each, and the ports derived from the base port."""

    workers: int = DEFAULT_WORKERS
    rasa: int = DEFAULT_RASA
    base_port: int = DEFAULT_BASE_PORT
    port: int = DEFAULT_PORT
    public_url: str | None = None  # what Telegram and people open when a TLS proxy stands before nginx
    paths: Paths = field(default_factory=Paths)

    @property
    def redis_port(self) -> int:
        return self.base_port

    @property
    def sandbox_port(self) -> int:
        return self.base_port + 1

    @property
    def postgres_port(self) -> int:
        return self.base_port + 2

    def rasa_port(self, index: int) -> int:
        return self.base_port + 10 + index

    def actions_port(self, index: int) -> int:
        return self.base_port + 30 + index

    def webhook_port(self, index: int) -> int:
        return self.base_port + 50 + index

    def console_port(self, index: int) -> int:
        return self.base_port + 70 + index

    @property
    def local_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def base_url(self) -> str:
        return (self.public_url or self.local_url).rstrip("/")

    @property
    def webhook_url(self) -> str:
        return self.base_url + WEBHOOK_PATH

    @property
    def redis_url(self) -> str:
        return f"redis://{LOOPBACK}:{self.redis_port}/0"

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://{LOOPBACK}:{self.rasa_port(i)}" for i in range(1, self.rasa + 1)]

    def listening_ports(self, *, postgres: bool, sandbox: bool) -> dict[str, int]:
        """Every port the cluster will listen on, by what listens (to check they are free first)."""
        ports = {"nginx": self.port, "redis": self.redis_port}
        if sandbox:
            ports["sandbox"] = self.sandbox_port
        if postgres:
            ports["postgres"] = self.postgres_port
        for i in range(1, self.rasa + 1):
            ports[f"rasa-{i}"] = self.rasa_port(i)
            ports[f"actions-{i}"] = self.actions_port(i)
        for i in range(1, self.workers + 1):
            ports[f"worker-{i} (webhook)"] = self.webhook_port(i)
            ports[f"worker-{i} (console)"] = self.console_port(i)
        return ports


def problems(layout: Layout) -> list[str]:
    """What is wrong with these options, in French (empty: nothing)."""
    found = []
    if not 1 <= layout.workers <= MAX_REPLICAS:
        found.append(f"--workers doit être entre 1 et {MAX_REPLICAS} (reçu : {layout.workers})")
    if not 1 <= layout.rasa <= MAX_REPLICAS:
        found.append(f"--rasa doit être entre 1 et {MAX_REPLICAS} (reçu : {layout.rasa})")
    if not 1024 <= layout.base_port <= 65535 - PORT_SPAN:
        found.append(f"--base-port doit être entre 1024 et {65535 - PORT_SPAN} (reçu : {layout.base_port})")
    if not 1 <= layout.port <= 65535:
        found.append(f"--port doit être entre 1 et 65535 (reçu : {layout.port})")
    elif layout.base_port <= layout.port <= layout.base_port + PORT_SPAN:
        found.append(
            f"--port {layout.port} tombe dans la plage des ports du cluster "
            f"({layout.base_port}-{layout.base_port + PORT_SPAN}) : choisissez un autre --port ou --base-port"
        )
    if layout.public_url is not None and not re.match(r"^https?://[^\s/]+(/\S*)?$", layout.public_url):
        found.append(f"--public-url doit être une adresse http(s):// (reçu : {layout.public_url})")
    return found


@dataclass(frozen=True)
class Binaries:
    """The executables of the packages the cluster runs (found by control.py)."""

    redis_server: str
    nginx: str
    postgres: str | None = None  # PostgreSQL's `postgres`, when the cluster starts its own


@dataclass(frozen=True)
class Program:
    """One supervisord program: its full environment (supervisord's own is a few neutral variables)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    health: str | None = None  # http(s)://… answers 200 when ready; redis://… answers PING; postgresql: SQL
    autostart: bool = False  # infrastructure starts with supervisord; the rest once the database is ready
    priority: int = 500  # started in this order, stopped in the reverse one
    user: str | None = None
    stopsignal: str = "TERM"
    stopwaitsecs: int = 20
    startsecs: int = 3


def _without(env: Mapping[str, str], keys: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in keys}


def plan(
    layout: Layout,
    *,
    environ: Mapping[str, str],
    rasa_token: str,
    database_url: str,
    tracker_store: str | None,
    binaries: Binaries,
    sandbox: bool,
    as_root: bool,
    python: str = sys.executable,
) -> list[Program]:
    """The cluster's processes (infrastructure first), like outreach.supervisor.plan does for `outreach run`.

    `environ`: the caller's environment (the same contract as `outreach run`); Rasa's environment is
    outreach.rasa_model.rasa_env's, as for `outreach run`. `database_url`: PostgreSQL, shared by the workers,
    the action servers and (`tracker_store`, outreach.rasa_store.rasa_url) every Rasa replica."""
    base = dict(environ)
    base["PYTHONUNBUFFERED"] = "1"
    base.pop("OUTREACH_RASA_URL", None)  # OUTREACH_RASA_URLS names the replicas
    for key in LOOPBACK_KEYS:
        base[key] = LOOPBACK
    infra = _without(base, SECRET_KEYS)
    programs: list[Program] = []
    if binaries.postgres is not None:
        connections = min(1000, 50 + 20 * (layout.workers + 2 * layout.rasa))  # a pool per process
        programs.append(
            Program(
                "postgres",
                [
                    binaries.postgres,
                    "-D",
                    str(layout.paths.pgdata),
                    "-p",
                    str(layout.postgres_port),
                    "-k",
                    str(layout.paths.pgdata),
                    "-c",
                    f"listen_addresses={LOOPBACK}",
                    "-c",
                    f"max_connections={connections}",
                ],
                _without(infra, ("PGDATA", "PGPORT", "PGHOST")),
                health="postgresql",
                autostart=True,
                priority=10,
                user="postgres" if as_root else None,
                stopsignal="INT",  # fast shutdown
                stopwaitsecs=60,
            )
        )
    programs.append(
        Program(
            "redis",
            [
                binaries.redis_server,
                "--bind",
                LOOPBACK,
                "--port",
                str(layout.redis_port),
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
                "--dir",
                str(layout.paths.redis_dir),
                "--save",
                "",  # per-chat turns and send rates: nothing worth a snapshot
                "--appendonly",
                "no",
            ],
            infra,
            health=f"redis://{LOOPBACK}:{layout.redis_port}",
            autostart=True,
            priority=20,
        )
    )
    service_env = dict(base)
    if sandbox:
        sandbox_url = f"http://{LOOPBACK}:{layout.sandbox_port}"
        programs.append(
            Program(
                "sandbox",
                [python, "-m", "sandbox", "--host", LOOPBACK, "--port", str(layout.sandbox_port)],
                infra,
                health=f"{sandbox_url}/control/stats",
                autostart=True,
                priority=30,
            )
        )
        service_env["TELEGRAM_BOT_TOKEN"] = SANDBOX_TOKEN
        service_env["TELEGRAM_API_BASE_URL"] = f"{sandbox_url}/bot"
    programs.append(
        Program(
            "nginx",
            [binaries.nginx, "-e", "stderr", "-c", str(layout.paths.nginx_conf)],
            infra,
            health=f"{layout.local_url}{NGINX_HEALTH_PATH}",
            autostart=True,
            priority=40,
            stopwaitsecs=10,
        )
    )
    shared = {
        "DATABASE_URL": database_url,
        "OUTREACH_REDIS_URL": layout.redis_url,
        "OUTREACH_RASA_TOKEN": rasa_token,
        "OUTREACH_LOG_FORMAT": "json",
    }
    for i in range(1, layout.rasa + 1):
        env = _without(base, ("TELEGRAM_BOT_TOKEN",)) | shared | {"OUTREACH_WORKER_NAME": f"actions-{i}"}
        programs.append(
            Program(
                f"actions-{i}",
                actions_server_argv(host=LOOPBACK, port=layout.actions_port(i)),
                env,
                health=f"http://{LOOPBACK}:{layout.actions_port(i)}/health",
                priority=200,
            )
        )
    for i in range(1, layout.rasa + 1):
        programs.append(
            Program(
                f"rasa-{i}",
                rasa_server_argv(host=LOOPBACK, port=layout.rasa_port(i), endpoints=layout.paths.endpoints(i)),
                # a replica killed mid-turn holds its conversation's lock in Redis: the next replica may take it
                # over after 10 s (Rasa's default: 60 s, longer than the service waits for a turn)
                rasa_env(rasa_token, tracker_store=tracker_store) | {"TICKET_LOCK_LIFETIME": str(RASA_LOCK_LIFETIME)},
                health=f"http://{LOOPBACK}:{layout.rasa_port(i)}/",  # answers once the model is loaded
                priority=300,
                stopwaitsecs=30,
                startsecs=5,
            )
        )
    for i in range(1, layout.workers + 1):
        env = service_env | shared
        env.setdefault("OUTREACH_CONSOLE_URL", layout.base_url)
        env.setdefault("OUTREACH_OUTBOX_RATE", str(CLUSTER_OUTBOX_RATE))
        env |= {
            "OUTREACH_WORKER_NAME": f"worker-{i}",
            "OUTREACH_WEBHOOK_URL": layout.webhook_url,
            "OUTREACH_WEBHOOK_PORT": str(layout.webhook_port(i)),
            "OUTREACH_CONSOLE_PORT": str(layout.console_port(i)),
            "OUTREACH_RASA_URLS": ",".join(layout.rasa_urls),
        }
        programs.append(
            Program(
                f"worker-{i}",
                [python, "-m", "outreach.service"],
                env,
                health=f"http://{LOOPBACK}:{layout.console_port(i)}/sante",
                priority=400,
                stopwaitsecs=30,
            )
        )
    return programs


def supervisord_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment supervisord runs with: neutral variables only (children get theirs from the config)."""
    return {k: environ[k] for k in SUPERVISORD_ENV_KEYS if k in environ}


_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INLINE_COMMENT = re.compile(r"\s[;#]")  # supervisord's ini parser cuts a value there


def _representable(value: str) -> bool:
    """Whether supervisord's `KEY="value"` syntax can carry this value unchanged (its parser strips quotes at
    both ends of a value, knows no escapes, and the ini parser treats " ;" and " #" as comments)."""
    return not (
        any(c in value for c in "\n\r\x00")
        or ('"' in value and "'" in value)
        or value[:1] in ("'", '"')
        or value[-1:] in ("'", '"')
        or _INLINE_COMMENT.search(value)
    )


def environment_value(env: Mapping[str, str]) -> tuple[str, list[str]]:
    """`environment=` of a supervisord program; also the variables that cannot be written there (left out)."""
    parts, dropped = [], []
    for key in sorted(env):
        value = env[key]
        if not _ENV_KEY.match(key) or not _representable(value):
            dropped.append(key)
            continue
        quote = "'" if '"' in value else '"'
        parts.append(f"{key}={quote}{value.replace('%', '%%')}{quote}")
    return ",".join(parts), dropped


def command_value(argv: list[str]) -> str:
    """`command=` of a supervisord program (shell-quoted, `%` doubled for supervisord's expansion)."""
    text = shlex.join(argv)
    if any(c in text for c in "\n\r") or _INLINE_COMMENT.search(text):
        raise ValueError(f"cannot write this command in supervisord's configuration: {argv[0]}")
    return text.replace("%", "%%")


def supervisord_conf(
    paths: Paths, programs: list[Program], base_env: Mapping[str, str]
) -> tuple[str, dict[str, list[str]]]:
    """supervisord's configuration file, and for each program the variables left out of its environment
    (values supervisord cannot carry). A program's `environment=` holds what differs from supervisord's own
    environment `base_env` (supervisord_env): it holds secrets, so the file must be written with mode 0600."""
    lines = [
        "; Generated by `outreach cluster up`: do not edit (it is rewritten on every `up`).",
        "[unix_http_server]",
        f"file={paths.socket}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={paths.logs / 'supervisord.log'}",
        "logfile_maxbytes=10MB",
        "logfile_backups=2",
        f"pidfile={paths.pidfile}",
        f"childlogdir={paths.logs}",
        f"directory={PROJECT_ROOT}",
        "identifier=outreach-cluster",
        "nodaemon=false",
        "minfds=4096",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{paths.socket}",
    ]
    dropped: dict[str, list[str]] = {}
    for program in programs:
        own = {k: v for k, v in program.env.items() if base_env.get(k) != v}
        environment, left_out = environment_value(own)
        if left_out:
            dropped[program.name] = left_out
        lines += [
            "",
            f"[program:{program.name}]",
            f"command={command_value(program.argv)}",
            f"directory={PROJECT_ROOT}",
            f"priority={program.priority}",
            f"autostart={'true' if program.autostart else 'false'}",
            "autorestart=true",
            f"startsecs={program.startsecs}",
            "startretries=5",
            f"stopsignal={program.stopsignal}",
            f"stopwaitsecs={program.stopwaitsecs}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={paths.logs / (program.name + '.log')}",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=2",
        ]
        if program.user:
            lines.append(f"user={program.user}")
        if environment:
            lines.append(f"environment={environment}")
    return "\n".join(lines) + "\n", dropped


def nginx_conf(layout: Layout, *, as_root: bool) -> str:
    """nginx in the foreground on loopback: `/telegram` to the workers' webhook listeners (round robin; a
    request a dead worker could not take goes to the next one), the rest to their consoles."""
    paths = layout.paths
    tmp = paths.nginx_dir / "tmp"
    webhook = "\n".join(
        f"        server {LOOPBACK}:{layout.webhook_port(i)} max_fails=1 fail_timeout=5s;"
        for i in range(1, layout.workers + 1)
    )
    console = "\n".join(
        f"        server {LOOPBACK}:{layout.console_port(i)} max_fails=1 fail_timeout=5s;"
        for i in range(1, layout.workers + 1)
    )
    user = "user root;\n" if as_root else ""  # its own files are root's; as anyone else, nginx runs as them
    return f"""# Generated by `outreach cluster up`: do not edit (it is rewritten on every `up`).
{user}daemon off;
worker_processes 1;
pid {paths.nginx_dir / "nginx.pid"};
error_log stderr warn;

events {{
    worker_connections 1024;
}}

http {{
    client_body_temp_path {tmp / "body"};
    proxy_temp_path {tmp / "proxy"};
    fastcgi_temp_path {tmp / "fastcgi"};
    uwsgi_temp_path {tmp / "uwsgi"};
    scgi_temp_path {tmp / "scgi"};
    # No query strings in the access log (a console link may carry a one-time code).
    log_format outreach '$remote_addr [$time_local] "$request_method $uri" $status $body_bytes_sent '
                        '$request_time "$upstream_addr" $upstream_status';
    access_log {paths.logs / "nginx-access.log"} outreach;
    server_tokens off;
    client_max_body_size 20m;

    upstream outreach_webhook {{
{webhook}
        keepalive 16;
    }}

    upstream outreach_console {{
{console}
        keepalive 16;
    }}

    server {{
        listen {LOOPBACK}:{layout.port};
        server_name _;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_connect_timeout 1s;
        proxy_next_upstream_tries {layout.workers};

        location = {NGINX_HEALTH_PATH} {{
            access_log off;
            default_type text/plain;
            return 200 "ok\\n";
        }}

        # Telegram's updates; X-Telegram-Bot-Api-Secret-Token goes through like every request header. A POST
        # is passed on to the next worker even once sent (non_idempotent): the inbox ignores an update it has
        # already taken (outreach/inbox.py), and Telegram itself retries what was not acknowledged.
        location = {WEBHOOK_PATH} {{
            proxy_pass http://outreach_webhook;
            proxy_read_timeout 60s;
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_next_upstream_timeout 15s;
        }}

        location / {{
            proxy_pass http://outreach_console;
            proxy_read_timeout 120s;
            proxy_next_upstream error timeout http_502 http_503;
        }}
    }}
}}
"""


def up_line(layout: Layout, pids: Mapping[str, int]) -> str:
    """The one JSON line `outreach cluster up` prints: workers, then Rasa, then action servers, then the rest."""

    def rank(name: str) -> tuple[int, int, str]:
        for order, prefix in enumerate(APP_PREFIXES):
            if name.startswith(prefix) and name[len(prefix) :].isdigit():
                return order, int(name[len(prefix) :]), name
        return 3, 0, name

    processes = {name: pids[name] for name in sorted(pids, key=rank)}
    return json.dumps({"webhook": layout.webhook_url, "console": layout.base_url, "processes": processes})
