"""`outreach cluster`: the pure part (ports, processes, supervisord's and nginx's files, the JSON line), and the
command line's refusals. Starting a real cluster takes minutes and gigabytes: it is checked by hand (docs)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from supervisor.options import ServerOptions
from typer.testing import CliRunner

from outreach.cli import app
from outreach.cluster import control
from outreach.cluster.topology import (
    LOOPBACK,
    MAX_REPLICAS,
    Binaries,
    Layout,
    Paths,
    Program,
    environment_value,
    nginx_conf,
    plan,
    problems,
    supervisord_conf,
    supervisord_env,
    up_line,
)
from outreach.config import Settings
from outreach.rasa_model import TRACKER_URL_VARIABLE
from outreach.supervisor import SANDBOX_TOKEN

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RUN_DEFAULT_PORTS = {5005, 5055, 8000, 8443, 8081}  # `outreach run`'s
BOT_TOKEN = "123456:REAL-looking_token"
RASA_TOKEN = "rasa-token-" + "x" * 32
DB_PASSWORD = "s3cret-pw"
DATABASE_URL = f"postgresql+psycopg://postgres:{DB_PASSWORD}@127.0.0.1:7102/outreach"
TRACKER = f"postgresql+psycopg2://postgres:{DB_PASSWORD}@127.0.0.1:7102/outreach?options=-csearch_path%3Drasa"
BINARIES = Binaries("/usr/bin/redis-server", "/usr/sbin/nginx", "/usr/lib/postgresql/15/bin/postgres")
CALLER = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/home/outreach",
    "LANG": "C.UTF-8",
    "OUTREACH_TIMEZONE": "Europe/Paris",
    "OUTREACH_QUIET_HOURS": "none",
    "OUTREACH_HOST": "0.0.0.0",  # noqa: S104 - the cluster must put every listener back on loopback
    "OUTREACH_RASA_URL": "http://127.0.0.1:5005",
}


def programs(
    layout: Layout, *, sandbox: bool = True, caller: dict[str, str] | None = None, as_root: bool = False
) -> dict[str, Program]:
    environ = dict(caller or CALLER)
    if not sandbox:
        environ["TELEGRAM_BOT_TOKEN"] = BOT_TOKEN
    planned = plan(
        layout,
        environ=environ,
        rasa_token=RASA_TOKEN,
        database_url=DATABASE_URL,
        tracker_store=TRACKER,
        binaries=BINARIES,
        sandbox=sandbox,
        as_root=as_root,
        python="/venv/bin/python",
    )
    return {p.name: p for p in planned}


# --------------------------------------------------------------------------- ports


@pytest.mark.parametrize(("workers", "rasa"), [(1, 1), (3, 2), (MAX_REPLICAS, MAX_REPLICAS)])
def test_ports_are_distinct_on_their_own_range_and_away_from_outreach_run(workers: int, rasa: int) -> None:
    layout = Layout(workers=workers, rasa=rasa)
    ports = layout.listening_ports(postgres=True, sandbox=True)
    assert len(ports) == 4 + 2 * rasa + 2 * workers
    assert len(set(ports.values())) == len(ports)
    assert not set(ports.values()) & RUN_DEFAULT_PORTS
    assert all(7100 <= p <= 7100 + 86 for name, p in ports.items() if name != "nginx")
    assert ports["nginx"] == 8090 and problems(layout) == []


def test_ports_follow_the_base_port() -> None:
    layout = Layout(workers=2, rasa=2, base_port=9000, port=9500)
    assert layout.redis_url == "redis://127.0.0.1:9000/0"
    assert layout.rasa_urls == ["http://127.0.0.1:9011", "http://127.0.0.1:9012"]
    assert (layout.actions_port(2), layout.webhook_port(2), layout.console_port(2)) == (9032, 9052, 9072)
    assert layout.webhook_url == "http://127.0.0.1:9500/telegram" and layout.base_url == "http://127.0.0.1:9500"
    public = Layout(public_url="https://bot.example.org/")
    assert public.webhook_url == "https://bot.example.org/telegram" and public.local_url == "http://127.0.0.1:8090"


@pytest.mark.parametrize(
    ("layout", "fragment"),
    [
        (Layout(workers=0), "--workers doit être entre 1 et 16 (reçu : 0)"),
        (Layout(workers=17), "--workers doit être entre 1 et 16"),
        (Layout(rasa=0), "--rasa doit être entre 1 et 16"),
        (Layout(rasa=99), "--rasa doit être entre 1 et 16"),
        (Layout(base_port=80), "--base-port doit être entre 1024"),
        (Layout(port=7150), "--port 7150 tombe dans la plage des ports du cluster"),
        (Layout(port=70000), "--port doit être entre 1 et 65535"),
        (Layout(public_url="bot.example.org"), "--public-url doit être une adresse http(s)://"),
    ],
)
def test_wrong_options_are_explained_in_french(layout: Layout, fragment: str) -> None:
    assert any(fragment in p for p in problems(layout)), problems(layout)


@pytest.mark.parametrize(
    "argv",
    [
        ["--workers", "0"],
        ["--workers", "17"],
        ["--rasa", "0"],
        ["--rasa", "40"],
        ["--base-port", "10"],
        ["--timeout", "0"],
    ],
)
def test_the_command_refuses_wrong_options_with_exit_code_2(argv: list[str]) -> None:
    result = CliRunner().invoke(app, ["cluster", "up", *argv])
    assert result.exit_code == 2
    assert "erreur : " in result.stderr and "doit être entre" in result.stderr
    assert result.stdout == ""


def test_busy_ports_are_refused_with_exit_code_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control, "port_free", lambda port: port not in (7100, 8090))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    layout = Layout(paths=Paths(tmp_path))
    with pytest.raises(control.ClusterError) as refused:
        control.up(layout, settings=_settings(), environ={}, prepare_database=_never, timeout=60)
    assert refused.value.code == 2
    assert "7100 (redis)" in str(refused.value) and "8090 (nginx)" in str(refused.value)
    assert not (tmp_path / "supervisord.conf").exists()  # nothing started, nothing written


def test_a_real_bot_needs_an_https_webhook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.delenv("TELEGRAM_API_BASE_URL", raising=False)
    with pytest.raises(control.ClusterError) as refused:
        control.up(Layout(paths=Paths(tmp_path)), settings=_settings(), environ={}, prepare_database=_never, timeout=60)
    assert refused.value.code == 2 and "--public-url https://" in str(refused.value)


def _settings() -> Settings:
    return Settings()


def _never(url: str) -> None:
    raise AssertionError("the database must not be touched")


def test_status_and_down_without_a_cluster(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    assert control.status(paths) == ({"up": False, "processes": {}}, 3)
    assert control.down(paths) == "aucun cluster en cours"


# --------------------------------------------------------------------------- processes


def test_the_processes_of_a_sandbox_cluster() -> None:
    layout = Layout(workers=3, rasa=2)
    found = programs(layout)
    assert list(found) == [
        "postgres",
        "redis",
        "sandbox",
        "nginx",
        "actions-1",
        "actions-2",
        "rasa-1",
        "rasa-2",
        "worker-1",
        "worker-2",
        "worker-3",
    ]
    assert [p.name for p in found.values() if p.autostart] == ["postgres", "redis", "sandbox", "nginx"]
    assert found["sandbox"].argv == ["/venv/bin/python", "-m", "sandbox", "--host", "127.0.0.1", "--port", "7101"]
    assert found["actions-2"].argv[-4:] == ["--host", "127.0.0.1", "--port", "7132"]
    rasa = found["rasa-2"].argv
    assert rasa[rasa.index("--port") + 1] == "7112" and rasa[rasa.index("--interface") + 1] == LOOPBACK
    assert rasa[rasa.index("--endpoints") + 1].endswith("var/cluster/endpoints-rasa-2.yml")
    assert found["worker-2"].argv == ["/venv/bin/python", "-m", "outreach.service"]
    assert found["worker-2"].health == "http://127.0.0.1:7172/sante"
    assert found["rasa-1"].health == "http://127.0.0.1:7111/"
    assert found["actions-1"].health == "http://127.0.0.1:7131/health"
    assert found["nginx"].health == "http://127.0.0.1:8090/_cluster/nginx"
    assert found["redis"].health == "redis://127.0.0.1:7100"
    assert "--daemonize" in found["redis"].argv and "daemonize" not in found["nginx"].argv


def test_a_worker_gets_the_contract_of_outreach_run_plus_its_own_ports() -> None:
    layout = Layout(workers=3, rasa=2)
    env = programs(layout)["worker-2"].env
    assert env["OUTREACH_TIMEZONE"] == "Europe/Paris" and env["OUTREACH_QUIET_HOURS"] == "none"  # the caller's
    assert env["DATABASE_URL"] == DATABASE_URL
    assert env["OUTREACH_REDIS_URL"] == "redis://127.0.0.1:7100/0"
    assert env["OUTREACH_WORKER_NAME"] == "worker-2"
    assert env["OUTREACH_WEBHOOK_URL"] == "http://127.0.0.1:8090/telegram"
    assert env["OUTREACH_WEBHOOK_PORT"] == "7152" and env["OUTREACH_CONSOLE_PORT"] == "7172"
    assert env["OUTREACH_HOST"] == LOOPBACK and env["OUTREACH_CONSOLE_HOST"] == LOOPBACK
    assert env["OUTREACH_CONSOLE_URL"] == "http://127.0.0.1:8090"
    assert env["OUTREACH_RASA_URLS"] == "http://127.0.0.1:7111,http://127.0.0.1:7112"
    assert "OUTREACH_RASA_URL" not in env
    assert env["OUTREACH_RASA_TOKEN"] == RASA_TOKEN
    assert env["OUTREACH_LOG_FORMAT"] == "json"
    assert env["TELEGRAM_BOT_TOKEN"] == SANDBOX_TOKEN
    assert env["TELEGRAM_API_BASE_URL"] == "http://127.0.0.1:7101/bot"


def test_with_a_bot_token_there_is_no_sandbox_and_the_callers_console_url_stays() -> None:
    caller = CALLER | {"OUTREACH_CONSOLE_URL": "https://console.example.org"}
    found = programs(Layout(workers=1, rasa=1), sandbox=False, caller=caller)
    assert "sandbox" not in found
    env = found["worker-1"].env
    assert env["TELEGRAM_BOT_TOKEN"] == BOT_TOKEN and "TELEGRAM_API_BASE_URL" not in env
    assert env["OUTREACH_CONSOLE_URL"] == "https://console.example.org"


def test_secrets_are_in_no_command_line_and_only_where_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)  # Rasa's environment derives from the process's
    found = programs(Layout(workers=2, rasa=2), sandbox=False)
    for program in found.values():
        line = " ".join(program.argv)
        for secret in (BOT_TOKEN, RASA_TOKEN, DB_PASSWORD):
            assert secret not in line, program.name
    for name in ("postgres", "redis", "nginx"):
        assert not {"TELEGRAM_BOT_TOKEN", "OUTREACH_RASA_TOKEN", "DATABASE_URL"} & set(found[name].env), name
    rasa = found["rasa-1"].env
    assert "TELEGRAM_BOT_TOKEN" not in rasa
    assert rasa["OUTREACH_RASA_TOKEN"] == RASA_TOKEN and rasa[TRACKER_URL_VARIABLE] == TRACKER
    actions = found["actions-1"].env
    assert "TELEGRAM_BOT_TOKEN" not in actions and actions["OUTREACH_RASA_TOKEN"] == RASA_TOKEN
    assert actions["DATABASE_URL"] == DATABASE_URL


def test_postgres_runs_as_postgres_when_we_are_root() -> None:
    assert programs(Layout(), as_root=True)["postgres"].user == "postgres"
    assert programs(Layout(), as_root=False)["postgres"].user is None
    no_pg = plan(
        Layout(),
        environ=CALLER,
        rasa_token=RASA_TOKEN,
        database_url=DATABASE_URL,
        tracker_store=TRACKER,
        binaries=Binaries("/usr/bin/redis-server", "/usr/sbin/nginx"),
        sandbox=True,
        as_root=True,
    )
    assert "postgres" not in {p.name for p in no_pg}


# --------------------------------------------------------------------------- supervisord's configuration


def test_supervisord_reads_back_every_command_and_environment(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    paths.logs.mkdir()
    caller = CALLER | {
        "PERCENT": "50%",
        "COMMA_AND_QUOTES": 'a,b "c" d;e',
        "SINGLE": "it's",
        "EMPTY": "",
        "COMMENT_LIKE": "x ;y",  # supervisord's parser would cut it: left out
        "MULTILINE": "a\nb",  # left out
    }
    layout = Layout(workers=2, rasa=1, paths=paths)
    found = programs(layout, caller=caller)
    base = supervisord_env(caller)
    assert set(base) == {"PATH", "HOME", "LANG"}
    conf, dropped = supervisord_conf(paths, list(found.values()), base)
    assert dropped["worker-1"] == ["COMMENT_LIKE", "MULTILINE"]
    paths.conf.write_text(conf)
    with paths.conf.open() as handle:
        section = ServerOptions().read_config(handle)
    read = {pc.name: (group.name, pc) for group in section.process_group_configs for pc in group.process_configs}
    assert set(read) == set(found)
    for name, (group, config) in read.items():
        program = found[name]
        assert shlex.split(config.command) == program.argv, name
        env = dict(base) | dict(config.environment or {})
        assert env == {k: v for k, v in program.env.items() if k not in dropped.get(name, [])}, name
        assert config.autostart is program.autostart
        assert group == name  # no supervisord groups: `supervisorctl pid worker-1` works
    assert read["worker-1"][1].environment["PERCENT"] == "50%"
    assert read["worker-1"][1].environment["COMMA_AND_QUOTES"] == 'a,b "c" d;e'
    groups = {g.name: g.priority for g in section.process_group_configs}
    assert groups["postgres"] < groups["redis"] < groups["nginx"] < groups["actions-1"] < groups["rasa-1"]
    assert groups["rasa-1"] < groups["worker-1"] == groups["worker-2"]  # started last, stopped first
    assert section.pidfile == str(paths.pidfile)
    assert f"file={paths.socket}" in conf and "chmod=0700" in conf


def test_environment_value_quotes() -> None:
    assert environment_value({"A": "1", "B": 'say "hi" now', "C": "%"}) == ('A="1",B=\'say "hi" now\',C="%%"', [])
    # supervisord strips quotes at both ends of a value and knows no escapes: such values are left out
    assert environment_value({"END": 'say "hi"', "BOTH": "a\"'b", "BAD-KEY": "x"}) == ("", ["BAD-KEY", "BOTH", "END"])


# --------------------------------------------------------------------------- nginx


@pytest.fixture(scope="session")
def nginx() -> str:
    """nginx, installed by scripts/cluster-deps.sh when we may (root with apt-get)."""
    if shutil.which("nginx", path="/usr/sbin:/usr/bin:/usr/local/sbin") is None:
        subprocess.run([str(PROJECT_ROOT / "scripts" / "cluster-deps.sh"), "nginx"], check=False)
    found = shutil.which("nginx", path="/usr/sbin:/usr/bin:/usr/local/sbin")
    if found is None:
        pytest.skip("nginx is not installed (scripts/cluster-deps.sh nginx, as root)")
    return found


@pytest.mark.parametrize("as_root", [True, False])
def test_the_nginx_configuration_passes_nginx_t(nginx: str, tmp_path: Path, as_root: bool) -> None:
    paths = Paths(tmp_path)
    (paths.nginx_dir / "tmp").mkdir(parents=True)
    paths.logs.mkdir()
    layout = Layout(workers=3, rasa=1, paths=paths)
    paths.nginx_conf.write_text(nginx_conf(layout, as_root=as_root))
    checked = subprocess.run(
        [nginx, "-t", "-e", "stderr", "-c", str(paths.nginx_conf)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


def test_nginx_spreads_the_webhook_and_the_console_over_every_worker() -> None:
    conf = nginx_conf(Layout(workers=3, rasa=1), as_root=False)
    assert "listen 127.0.0.1:8090;" in conf and "daemon off;" in conf and "user " not in conf
    for i in (1, 2, 3):
        assert f"server 127.0.0.1:{7150 + i} max_fails=1" in conf  # webhook listeners
        assert f"server 127.0.0.1:{7170 + i} max_fails=1" in conf  # consoles
    webhook = conf[conf.index("location = /telegram") :]
    assert "proxy_pass http://outreach_webhook;" in webhook
    assert "proxy_next_upstream error timeout http_502 http_503" in webhook
    assert "proxy_connect_timeout 1s;" in conf
    assert "proxy_set_header X-Telegram-Bot-Api-Secret-Token" not in conf  # passed through as it comes
    assert "user root;" in nginx_conf(Layout(), as_root=True)


# --------------------------------------------------------------------------- the JSON line


def test_the_json_line() -> None:
    pids = {"nginx": 9, "worker-10": 5, "redis": 8, "rasa-1": 3, "worker-2": 2, "actions-1": 4, "worker-1": 1}
    line = up_line(Layout(), pids)
    assert "\n" not in line
    value = json.loads(line)
    assert value["webhook"] == "http://127.0.0.1:8090/telegram" and value["console"] == "http://127.0.0.1:8090"
    assert list(value["processes"]) == ["worker-1", "worker-2", "worker-10", "rasa-1", "actions-1", "nginx", "redis"]
    assert value["processes"]["worker-10"] == 5
