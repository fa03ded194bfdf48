#!/usr/bin/env bash
# Creates or refreshes the two virtual environments. Idempotent: a stamp holding the hash of the
# lock files makes a second run return at once when nothing changed.
#   .venv       Python 3.11: our code (editable), from requirements.lock
#   .venv-rasa  Python 3.10: the Rasa 3.6 server only, from requirements-rasa.lock
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

find_python() {  # $1 = minor version, e.g. 3.10
  local v=$1 candidate
  for candidate in "python$v" "$(command -v pyenv >/dev/null 2>&1 && pyenv root)/versions/$v"*/bin/python \
                   "$HOME/.pyenv/versions/$v"*/bin/python /usr/bin/python"$v" /usr/local/bin/python"$v"; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 || [ -x "$candidate" ]; then
      if "$candidate" -c "import sys, venv; assert sys.version_info[:2] == tuple(map(int, '$v'.split('.')))" 2>/dev/null; then
        command -v "$candidate" 2>/dev/null || echo "$candidate"
        return 0
      fi
    fi
  done
  return 1
}

make_venv() {  # $1 = dir, $2 = python version, $3.. = lock files; then install
  local dir=$1 version=$2; shift 2
  local stamp="$dir/.outreach-stamp" want
  want=$(hash_of "$@" pyproject.toml)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$dir/bin/python" ]; then
    return 0
  fi
  local python
  python=$(find_python "$version") || die "Python $version is needed for $dir but was not found.
  Install it with pyenv:   pyenv install $version   (then run make again)
  or with your system:     apt-get install python$version python$version-venv"
  say "creating $dir with $python ($("$python" --version 2>&1))"
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip==24.0" "setuptools==69.5.1" "wheel==0.43.0"
  local start=$SECONDS
  if [ "$dir" = ".venv" ]; then
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r requirements.lock
    "$dir/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  else
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r requirements-rasa.lock
  fi
  say "$dir ready in $((SECONDS - start)) s"
  echo "$want" > "$stamp"
}

make_venv .venv 3.11 requirements.lock
make_venv .venv-rasa 3.10 requirements-rasa.lock
