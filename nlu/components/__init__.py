"""Custom Rasa components (loaded by Rasa with nlu/ on PYTHONPATH; Python 3.10, .venv-rasa)."""
