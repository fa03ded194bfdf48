"""Telegram channel: PTB Application, handlers, rendering of replies."""
