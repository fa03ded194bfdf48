"""The trained Rasa model: where it is, whether it is current, how to (re)train it."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from outreach import PROJECT_ROOT, augment

log = logging.getLogger(__name__)

NLU_DIR = PROJECT_ROOT / "nlu"
STORIES_DIR = PROJECT_ROOT / "stories"
MODELS_DIR = PROJECT_ROOT / "models"
MODEL_NAME = "outreach"
RASA_VENV = PROJECT_ROOT / ".venv-rasa"
NOT_TRAINING_INPUTS = {"endpoints.yml", "credentials.yml"}
TRACKER_URL_VARIABLE = "OUTREACH_RASA_TRACKER_URL"  # the SQL tracker store's URL, in Rasa's environment


def rasa_executable() -> Path:
    return RASA_VENV / "bin" / "rasa"


def rasa_env(token: str | None = None, *, tracker_store: str | None = None) -> dict[str, str]:
    """Environment for Rasa processes: no telemetry, quiet TensorFlow, deterministic hashing; `token`
    for a Rasa server (its HTTP API and REST channel require it, nlu/serving); `tracker_store`, the URL of
    its SQL tracker store (outreach.rasa_store.rasa_url: it may hold a password), read by the endpoints file."""
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONHASHSEED="0",
        TF_DETERMINISTIC_OPS="1",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        LOG_LEVEL_LIBRARIES="ERROR",
        PYTHONPATH=str(NLU_DIR),  # custom components (nlu/components)
    )
    env.pop("TELEGRAM_BOT_TOKEN", None)  # Rasa never needs it
    if token is not None:
        env["OUTREACH_RASA_TOKEN"] = token
    if tracker_store is not None:
        env[TRACKER_URL_VARIABLE] = tracker_store
    return env


def rasa_server_argv(*, host: str, port: int, endpoints: Path) -> list[str]:
    """`rasa run` through nlu/serving, which adds the API token from OUTREACH_RASA_TOKEN (rasa_env)."""
    return [
        str(RASA_VENV / "bin" / "python"),
        "-m",
        "serving",
        "run",
        "--enable-api",
        "--model",
        str(model_path()),
        "--interface",
        host,
        "--port",
        str(port),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(NLU_DIR / "credentials.yml"),
    ]


def actions_server_argv(*, host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "actions", "--host", host, "--port", str(port)]


def endpoints_file(
    path: Path, *, host: str, actions_port: int, tracker_store: bool = False, lock_store_redis: str | None = None
) -> Path:
    """Rasa's endpoints file pointing at the action server's actual port; Rasa sends the API token to the
    action server (read from its environment when the file is loaded: the file holds no secret).

    `tracker_store`: conversations in Rasa's SQL tracker store, whose URL Rasa reads from its environment
    (`rasa_env(tracker_store=…)`, outreach/rasa_store.py), so that they survive a restart of Rasa; without
    it, Rasa keeps them in memory (the tests' shared Rasa server).

    `lock_store_redis`: a Redis URL (redis://host:port/db) when several Rasa replicas share the tracker store:
    Rasa's RedisLockStore then makes one replica at a time handle a conversation (database 1 above the one
    given, so it never mixes with the service's keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "action_endpoint:\n"
        f'  url: "http://{host}:{actions_port}/webhook"\n'
        "  headers:\n"
        '    Authorization: Bearer ${OUTREACH_RASA_TOKEN}\n'  # unquoted: Rasa substitutes plain scalars only
    )
    if tracker_store:
        text += f"tracker_store:\n  type: SQL\n  url: ${{{TRACKER_URL_VARIABLE}}}\n"  # unquoted: Rasa expands it
    if lock_store_redis:
        redis = urlsplit(lock_store_redis)
        db = int((redis.path or "/0").strip("/") or 0) + 1
        text += (
            "lock_store:\n  type: redis\n"
            f"  url: {redis.hostname or '127.0.0.1'}\n  port: {redis.port or 6379}\n  db: {db}\n"
            "  key_prefix: outreach\n"
        )
    path.write_text(text)
    return path


def training_inputs() -> list[Path]:
    files = [p for p in NLU_DIR.rglob("*.yml") if p.name not in NOT_TRAINING_INPUTS]
    serving = NLU_DIR / "serving"  # runs in the Rasa server, changes no model
    files += [p for p in NLU_DIR.rglob("*.py") if serving not in p.parents]  # custom components do
    files += list(STORIES_DIR.rglob("*.yml"))
    files.append(Path(augment.__file__))  # the variants added at training time
    return sorted(p for p in files if p.is_file())


def inputs_hash() -> str:
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    requirements = PROJECT_ROOT / "requirements-rasa.lock"
    if requirements.exists():
        digest.update(requirements.read_bytes())
    return digest.hexdigest()


def model_path() -> Path:
    return MODELS_DIR / f"{MODEL_NAME}.tar.gz"


def _stamp_path() -> Path:
    return MODELS_DIR / f"{MODEL_NAME}.sha256"


def is_current() -> bool:
    stamp = _stamp_path()
    return model_path().exists() and stamp.exists() and stamp.read_text().strip() == inputs_hash()


def train(*, force: bool = False, quiet: bool = False) -> Path:
    """Train when the model is missing or older than nlu/ and stories/ (by content hash)."""
    if not force and is_current():
        return model_path()
    executable = rasa_executable()
    if not executable.exists():
        raise FileNotFoundError(f"{executable} is missing: run `make setup` first")
    wanted = inputs_hash()
    MODELS_DIR.mkdir(exist_ok=True)
    data = augment.build(NLU_DIR / "data", MODELS_DIR / "build" / "data")  # written examples + seeded variants
    command = [
        str(executable),
        "train",
        "--config",
        str(NLU_DIR / "config.yml"),
        "--domain",
        str(NLU_DIR / "domain"),
        "--data",
        str(data),
        str(STORIES_DIR),
        "--out",
        str(MODELS_DIR),
        "--fixed-model-name",
        MODEL_NAME,
    ]
    print(f"[train] training the Rasa model ({len(training_inputs())} files)…", file=sys.stderr, flush=True)
    start = time.monotonic()
    if quiet:  # keep stdout clean (e.g. for `outreach nlu parse`): Rasa's output goes to a log file
        log_path = MODELS_DIR / "train.log"
        with log_path.open("wb") as log_file:
            done = subprocess.run(command, cwd=PROJECT_ROOT, env=rasa_env(), stdout=log_file, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            raise RuntimeError(f"rasa train failed; see {log_path}")
    else:
        subprocess.run(command, cwd=PROJECT_ROOT, env=rasa_env(), check=True)
    _stamp_path().write_text(wanted + "\n")
    print(f"[train] model ready in {time.monotonic() - start:.0f} s: {model_path()}", file=sys.stderr, flush=True)
    return model_path()
