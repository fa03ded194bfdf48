# syntax=docker/dockerfile:1
# The outreach image (Python 3.11): workers (python -m outreach.service), action servers (python -m actions), the
# migrations and the backups of deploy/compose.yml. Built from the repository root:
#   docker build -f deploy/docker/app.Dockerfile -t outreach-app .
# The same lock file and pins as scripts/setup.sh (`make setup`). docs/deploy.md, "Compose".
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# pg_dump/pg_restore of the server's version for scripts/backup.sh and scripts/restore-check.sh (bookworm: 15)
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /home/outreach --uid 10001 outreach \
    && install -d -o outreach -g outreach -m 0700 /backups

WORKDIR /opt/outreach
COPY requirements.lock ./
RUN python -m venv .venv \
    && .venv/bin/pip install --quiet "pip==24.0" "setuptools==69.5.1" "wheel==0.43.0" \
    && .venv/bin/pip install --quiet -r requirements.lock

COPY . .
RUN .venv/bin/pip install --quiet --no-deps --no-build-isolation -e . \
    && .venv/bin/python -c "import outreach.service, actions.server"

USER outreach
ENV HOME=/home/outreach
CMD [".venv/bin/python", "-m", "outreach.service"]
