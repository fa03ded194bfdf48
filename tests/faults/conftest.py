"""The fault drills (sandbox/drills.py) on the whole service: marked `faults` (and `rasa`, pyproject.toml); they
run in `make test`. Longer variants: `python -m bench.faults`."""
