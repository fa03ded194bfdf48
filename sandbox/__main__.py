"""``python -m sandbox [--host 127.0.0.1] [--port 8081] [--enforce-limits]``: serve the emulator."""

from __future__ import annotations

import argparse
import socket

import uvicorn

from sandbox.emulator import BotApiEmulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Émulateur local de l'API Bot Telegram et bac à sable web pour Outreach.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (défaut : 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port d'écoute (défaut : 8081)")
    parser.add_argument(
        "--enforce-limits", action="store_true", help="appliquer les limites de débit de Telegram (429)"
    )
    parser.add_argument("--global-rate", type=float, default=30.0, help="envois par seconde et par bot (défaut : 30)")
    parser.add_argument(
        "--per-chat-interval", type=float, default=1.0, help="secondes entre deux envois à un même chat (défaut : 1)"
    )
    parser.add_argument(
        "--presets",
        action="store_true",
        help="enregistrer d’emblée les personnes de la page (habitants, équipe) comme si elles avaient démarré le bot",
    )
    parser.add_argument("--log-level", default="warning", help="niveau de journalisation d'uvicorn")
    args = parser.parse_args(argv)

    emulator = BotApiEmulator(
        enforce_limits=args.enforce_limits,
        global_rate=args.global_rate,
        per_chat_interval=args.per_chat_interval,
    )
    if args.presets:
        emulator.register_presets()
    url = f"http://{args.host}:{args.port}"
    print(f"Bac à sable Outreach : {url}/", flush=True)
    print(f"  base_url Bot API    : {url}/bot", flush=True)
    print(f"  base_file_url       : {url}/file/bot", flush=True)
    if args.enforce_limits:
        limits = f"{args.global_rate:g}/s par bot, {args.per_chat_interval:g} s par chat"
        print(f"  limites de débit    : {limits}", flush=True)
    config = uvicorn.Config(
        emulator.app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        ws="none",
        timeout_graceful_shutdown=2,
    )
    _Server(config, emulator).run()


class _Server(uvicorn.Server):
    """Releases the emulator's long polls as soon as shutdown starts (Ctrl+C / SIGTERM stop at once)."""

    def __init__(self, config: uvicorn.Config, emulator: BotApiEmulator) -> None:
        super().__init__(config)
        self.emulator = emulator

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.emulator.aclose()
        await super().shutdown(sockets=sockets)


if __name__ == "__main__":
    main()
