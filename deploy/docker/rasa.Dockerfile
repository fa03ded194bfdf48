# syntax=docker/dockerfile:1
# The Rasa 3.6 image (Python 3.10): the Rasa server only, with the trained model of the repository. Train first
# (`make train` writes models/outreach.tar.gz; the model is not in git), then from the repository root:
#   docker build -f deploy/docker/rasa.Dockerfile -t outreach-rasa .
# Same lock file and pins as scripts/setup.sh; same environment as outreach/rasa_model.py:rasa_env.
FROM python:3.10-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PYTHONHASHSEED=0 \
    TF_DETERMINISTIC_OPS=1 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    LOG_LEVEL_LIBRARIES=ERROR \
    PYTHONPATH=/opt/outreach/nlu

RUN useradd --system --create-home --home-dir /home/outreach --uid 10001 outreach
WORKDIR /opt/outreach
COPY requirements-rasa.lock ./
RUN python -m venv .venv-rasa \
    && .venv-rasa/bin/pip install --quiet "pip==24.0" "setuptools==69.5.1" "wheel==0.43.0" \
    && .venv-rasa/bin/pip install --quiet -r requirements-rasa.lock

COPY nlu nlu
COPY deploy/rasa deploy/rasa
COPY models/outreach.tar.gz models/outreach.tar.gz

USER outreach
ENV HOME=/home/outreach
EXPOSE 5005
CMD [".venv-rasa/bin/python", "-m", "serving", "run", "--enable-api", "--model", "models/outreach.tar.gz", \
     "--interface", "0.0.0.0", "--port", "5005", "--endpoints", "deploy/rasa/endpoints.yml", \
     "--credentials", "nlu/credentials.yml"]
