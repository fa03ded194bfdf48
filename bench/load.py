"""Load benchmark: N residents writing at once to the whole service (`outreach run`, sandbox mode, the Bot
API emulator as launch_outreach starts it: Telegram's rate limits not enforced, reported as
`emulator_enforces_limits`), each resident writing without waiting for the bot's answers.

    .venv/bin/python -m bench.load [--residents 200] [--duration 300] [--think 2-4] [--seed 1]

Each resident consents (/start, then "✅ J'accepte"), then writes a message every think time (uniform in the
range, one random.Random per resident seeded from --seed and its number), measured from the moment they sent
the previous one: they write whether the bot answered or not, so the offered load does not drop when the service
slows down (≈ residents / mean think: 200 residents, 2-4 s → ≈ 67 messages/s). The messages are a resident's
usual mix (greetings, questions to the FAQ, "merci", "je comprends pas", short answers, goodbyes) plus a
"je voudrais un rendez-vous" now and then, which starts the booking form: its follow-up is scripted ("annuler",
sometimes after a message the form answers with two messages, its answer and the question again), so nobody
stays in a form. Nothing in the mix opens a case with a person or touches the resident's data.

Matching answers to messages. The bot gives no reference to the message it answers (no reply_to), so the
matching reads the emulator's event log of each chat, in `seq` order, on the emulator's clock, and relies on
what the service guarantees: the updates of one chat are handled one after the other, in order (a lock per
chat), and a turn's answers are sent back to back (one to three messages: the text, a menu or the form's
question again). So the k-th *answer burst* of a chat belongs to its k-th message. Walking the events:

- a resident's message joins the chat's queue of messages waiting for an answer;
- a bot message when no message is waiting (every message sent so far already had a first answer) belongs to
  the turn being answered: exact;
- a bot message when a message is waiting starts the answer to the oldest waiting message (its first reply:
  the latency is taken there), unless it follows the chat's previous bot message by less than `split_gap`
  (default 0.25 s), in which case it is one more message of the current turn. Only this case needs a rule:
  it arises when the bot is more than a think time behind (the resident's next message arrived while a turn
  was still being answered). A continuation is one sendMessage after the other (a few ms; the report gives the
  largest gap seen between the messages of one turn where the order alone decides), while a new turn needs the
  next update's whole handling, a call to Rasa included; the report also gives the gaps the rule judged, to show
  how clear the split was. Where the rule is wrong (a turn's messages more than split_gap apart, or a chat's next
  turn answered within split_gap of the previous one while it was behind), that chat's later matches shift by
  one: a message shows as lost at its end, or a latency is read from a neighbouring turn;
- a bot message before any message of the run is counted as unattributed; the flood gate's warning (sent at
  once, outside the chat's order) is counted apart, and its update is dropped by design: that message is lost.

A message is *lost* when no answer burst matched it after the drain; *answered more than once* when its burst is
the same sequence of texts repeated (the same update handled twice). Latency: the resident's message queued in the
emulator → the bot's first message of that turn, both on the emulator's clock.

Also reported: offered messages/s, served turns/s (first replies within the window / duration), latency
percentiles, lines with ' ERROR ' in the service's log, CPU seconds of each process of `outreach run` over the
load (read in /proc/<pid>/stat, pids from the supervisor's "<name> started (pid N)" lines) and a timeline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import re
import statistics
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import machine, percentile, publish
from outreach import texts
from outreach.cluster.topology import Paths
from sandbox.client import ChatUser, EmulatorClient, EmulatorError
from sandbox.launch import Launched, launch_outreach

FIRST_USER_ID = 20_000
SPLIT_GAP = 0.25  # s: a bot message this close to the previous one, with a message waiting, continues the turn
DRAIN_LIMIT = 60.0  # s: wait this long at most, after the duration, for the last answers
SETTLE = 2.0  # s: once everything is answered, keep reading this long (a late extra message, a duplicate)
CONSENTS_AT_ONCE = 25
LOAD_CONNECTIONS = 8  # to the emulator during the load window (see run_load)

# (weight, messages): a draw picks a group by weight, then a message of the group.
MIX: list[tuple[float, tuple[str, ...]]] = [
    (16, ("bonjour", "bjr", "slt", "salut", "bonsoir", "hello")),
    (
        32,
        (
            "c koi le rsa",
            "c quoi la prime d'activité",
            "c quoi la css",
            "c'est quoi l'apl",
            "c gratuit ?",
            "ça coûte combien",
            "c'est où la permanence",
            "j'ai pas internet",
            "je cherche du travail",
        ),
    ),
    (6, ("je voudrais un rendez-vous",)),
    (12, ("merci", "merci beaucoup")),
    (8, ("je comprends pas", "j'ai pas compris")),
    (16, ("ok", "oui", "non", "d'accord", "non merci", "je sais pas")),
    (6, ("bonne journée", "au revoir")),
    (4, ("vous pouvez m'aider ?",)),
]
BOOKING = "je voudrais un rendez-vous"
# What a resident writes after asking for an appointment: the form asks where they live; "annuler" ends it.
# A message in between gets two messages back (its answer, then the form's question again).
BOOKING_FOLLOW_UPS: list[tuple[str, ...]] = [
    ("annuler",),
    ("laisse tomber",),
    ("c gratuit ?", "annuler"),
    ("merci", "annuler"),
]


def draw(rng: random.Random, script: deque[str]) -> str:
    """The resident's next message: the booking form's scripted follow-up first, else one from MIX."""
    if script:
        return script.popleft()
    weights = [weight for weight, _ in MIX]
    group = rng.choices([messages for _, messages in MIX], weights=weights)[0]
    text = rng.choice(group)
    if text == BOOKING:
        script.extend(rng.choice(BOOKING_FOLLOW_UPS))
    return text


# ---------------------------------------------------------------- matching


@dataclass
class Turn:
    """One message of a resident and the bot messages matched to it: (seq, time, text)."""

    seq: int
    time: float
    text: str
    replies: list[tuple[int, float, str]] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return bool(self.replies)

    @property
    def latency(self) -> float:
        return self.replies[0][1] - self.time

    @property
    def repeated(self) -> bool:
        """The burst is one sequence of texts said twice or more (the same update handled again)."""
        said = [text for _, _, text in self.replies]
        size = len(said)
        return any(size % part == 0 and said == said[:part] * (size // part) for part in range(1, size // 2 + 1))


@dataclass
class ChatMatch:
    turns: list[Turn] = field(default_factory=list)
    unattributed: int = 0
    flood_warnings: int = 0
    exact_continuation_gaps: list[float] = field(default_factory=list)  # order alone said: same turn
    judged_continuation_gaps: list[float] = field(default_factory=list)  # a message waiting, gap ≤ split_gap
    judged_new_turn_gaps: list[float] = field(default_factory=list)  # a message waiting, gap > split_gap, after it


def match_chat(events: Sequence[dict[str, Any]], split_gap: float = SPLIT_GAP) -> ChatMatch:
    """Answer bursts of one chat ↔ its messages, in order (see the module's docstring)."""
    result = ChatMatch()
    current: int | None = None  # the turn being answered
    waiting = 0  # index of the oldest message without an answer yet
    last_bot: tuple[int, float] | None = None
    for event in sorted(events, key=lambda e: e["seq"]):
        if event["type"] != "message":
            continue  # edits of a keyboard, deletions: not answers
        message = event.get("message") or {}
        text = message.get("text") or message.get("caption") or ""
        if not event["from_bot"]:
            result.turns.append(Turn(event["seq"], event["time"], text))
            continue
        if text == texts.FLOOD:
            result.flood_warnings += 1  # sent at once by the flood gate, outside the chat's order
            continue
        gap = math.inf if last_bot is None else event["time"] - last_bot[1]
        previous_seq = -1 if last_bot is None else last_bot[0]
        last_bot = (event["seq"], event["time"])
        reply = (event["seq"], event["time"], text)
        if waiting >= len(result.turns):
            if current is None:
                result.unattributed += 1
            else:
                result.turns[current].replies.append(reply)
                result.exact_continuation_gaps.append(gap)
            continue
        if current is not None and gap <= split_gap:
            result.turns[current].replies.append(reply)
            result.judged_continuation_gaps.append(gap)
            continue
        if current is not None and previous_seq > result.turns[waiting].seq:
            result.judged_new_turn_gaps.append(gap)  # the order alone could not tell: the gap did
        current, waiting = waiting, waiting + 1
        result.turns[current].replies.append(reply)
    return result


# ---------------------------------------------------------------- processes


Snapshot = dict[str, tuple[int, float | None]]  # process name → (pid, CPU seconds)


def child_pids(log_text: str) -> dict[str, int]:
    """The latest pid of each child, from the supervisor's "<name> started (pid N)" lines."""
    return {name: int(pid) for name, pid in re.findall(r"(\w+) started \(pid (\d+)\)", log_text)}


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a live process, in seconds (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def target_pids(target: object) -> dict[str, int]:
    """The processes whose CPU the report gives: the children of `outreach run` and its supervisor, or every
    program of a cluster."""
    if isinstance(target, Launched):
        pids = child_pids(target.log.read_text(errors="replace"))
        pids["supervisor"] = target.process.pid
        return pids
    processes = target.processes()  # type: ignore[attr-defined]
    return {name: int(info["pid"]) for name, info in processes.items() if info.get("pid")}


def target_log(target: object) -> str:
    if isinstance(target, Launched):
        return target.log.read_text(errors="replace")
    logs = Paths().logs
    return "\n".join(path.read_text(errors="replace") for path in sorted(logs.glob("worker-*.log")))


def cpu_snapshot(target: object) -> Snapshot:
    """(pid, CPU seconds) of each process of the target and of this process."""
    snapshot = {name: (pid, cpu_seconds(pid)) for name, pid in target_pids(target).items()}
    times = os.times()
    snapshot["load_generator"] = (os.getpid(), times.user + times.system)
    return snapshot


def cpu_used(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds of each process between two snapshots (a process restarted meanwhile is left out)."""
    used: dict[str, float] = {}
    for name, (pid, cpu) in after.items():
        earlier = before.get(name)
        if earlier is not None and earlier[0] == pid and earlier[1] is not None and cpu is not None:
            used[name] = round(cpu - earlier[1], 1)
    return used


# ---------------------------------------------------------------- the run


@dataclass
class Sent:
    user_id: int
    text: str
    seq: int | None
    lateness: float  # s: when the send started, after the time the resident meant to write


class EventLog:
    """Every event of the emulator after a cursor, read in the background (one long poll at a time)."""

    def __init__(self, telegram: EmulatorClient, cursor: int) -> None:
        self.telegram = telegram
        self.cursor = cursor
        self.by_chat: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.read_errors = 0

    async def read(self, wait: float = 0.5) -> None:
        try:
            data = await self.telegram.request(
                "GET", "/control/events", params={"after": self.cursor, "timeout": wait}, http_timeout=wait + 30
            )
        except (EmulatorError, httpx.HTTPError):
            self.read_errors += 1
            await asyncio.sleep(0.5)
            return
        for event in data["events"]:
            self.by_chat[event["chat_id"]].append(event)
        self.cursor = max(self.cursor, data["last"])

    async def follow(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.read()
            await asyncio.sleep(0.5)  # one read per half second: the emulator filters its whole log each time


async def consent(user: ChatUser) -> None:
    await user.send("/start")
    question = await user.wait_for(lambda m: texts.CONSENT_ACCEPT in m.buttons, timeout=120)
    await user.press(texts.CONSENT_ACCEPT, message=question)
    await user.wait_for(lambda m: not m.edited and m.message_id != question.message_id, timeout=120)


async def resident(
    user: ChatUser, rng: random.Random, think: tuple[float, float], start: float, end: float, sent: list[Sent]
) -> int:
    """Write until `end` (loop clock), one message every think time from the previous send; returns send errors."""
    loop = asyncio.get_running_loop()
    script: deque[str] = deque()
    errors = 0
    due = start + rng.uniform(*think)
    while due < end:
        await asyncio.sleep(max(0.0, due - loop.time()))
        text = draw(rng, script)
        began = loop.time()
        seq = None
        try:
            seq = (await user.send(text))["seq"]
        except (EmulatorError, httpx.HTTPError):
            errors += 1
        sent.append(Sent(user.user_id, text, seq, began - due))
        due = began + rng.uniform(*think)
    return errors


def matched(log: EventLog, user_ids: Sequence[int], split_gap: float) -> dict[int, ChatMatch]:
    return {user_id: match_chat(log.by_chat.get(user_id, []), split_gap) for user_id in user_ids}


def all_answered(matches: dict[int, ChatMatch], sent_count: int) -> bool:
    turns = [turn for match in matches.values() for turn in match.turns]
    return len(turns) >= sent_count and all(turn.answered for turn in turns)


async def drain(log: EventLog, user_ids: Sequence[int], sent_count: int, split_gap: float, limit: float) -> float:
    """Read events until every message has its first answer (then SETTLE more seconds) or `limit` seconds."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    done_at: float | None = None
    while loop.time() - began < limit:
        await log.read(wait=0.5)
        if done_at is None and all_answered(matched(log, user_ids, split_gap), sent_count):
            done_at = loop.time()
        if done_at is not None and loop.time() - done_at >= SETTLE:
            break
        await asyncio.sleep(0.2)  # the emulator's log is read a few times a second at most
    return loop.time() - began


def log_counts(text: str) -> dict[str, int]:
    lines = text.splitlines()
    return {
        "errors_in_log": sum(" ERROR " in line or '"level": "ERROR"' in line for line in lines),
        "warnings_in_log": sum(" WARNING " in line or '"level": "WARNING"' in line for line in lines),
        "restarts": sum("; restarting in" in line for line in lines),
    }


def summarize(
    matches: dict[int, ChatMatch], sent: list[Sent], window: tuple[float, float], duration: float
) -> dict[str, Any]:
    turns = [turn for match in matches.values() for turn in match.turns]
    answered = [turn for turn in turns if turn.answered]
    latencies = [turn.latency * 1000 for turn in answered]
    start, end = window
    served_in_window = sum(1 for turn in answered if turn.replies[0][1] <= end)
    exact = [g for m in matches.values() for g in m.exact_continuation_gaps]
    judged_same = [g for m in matches.values() for g in m.judged_continuation_gaps]
    judged_new = [g for m in matches.values() for g in m.judged_new_turn_gaps]
    lateness = [s.lateness * 1000 for s in sent]

    def ms(values: list[float], q: float) -> float | None:
        return round(percentile(values, q), 1) if values else None

    buckets = 10
    width = duration / buckets
    timeline = []
    for index in range(buckets):
        low, high = start + index * width, start + (index + 1) * width
        written = [t for t in turns if low <= t.time < high]
        lat = [t.latency * 1000 for t in written if t.answered]
        timeline.append(
            {
                "from_s": round(index * width),
                "offered_per_s": round(len(written) / width, 1),
                "served_per_s": round(sum(1 for t in answered if low <= t.replies[0][1] < high) / width, 1),
                "p50_ms": ms(lat, 50),
                "p95_ms": ms(lat, 95),
                "lost": sum(1 for t in written if not t.answered),
            }
        )
    return {
        "messages_sent": len(sent),
        "messages_seen_by_emulator": len(turns),
        "offered_per_s": round(len(sent) / duration, 1),
        "served_turns_per_s": round(served_in_window / duration, 1),
        "answered": len(answered),
        "answered_after_the_window": len(answered) - served_in_window,
        "lost": len(turns) - len(answered),
        "answered_more_than_once": sum(turn.repeated for turn in answered),
        "turns_of_several_messages": sum(len(turn.replies) > 1 for turn in answered),
        "unattributed_bot_messages": sum(m.unattributed for m in matches.values()),
        "flood_warnings": sum(m.flood_warnings for m in matches.values()),
        "latency_p50_ms": ms(latencies, 50),
        "latency_p95_ms": ms(latencies, 95),
        "latency_p99_ms": ms(latencies, 99),
        "latency_max_ms": round(max(latencies), 1) if latencies else None,
        "latency_mean_ms": round(statistics.mean(latencies), 1) if latencies else None,
        "matching": {
            "split_gap_ms": None,
            "gap_within_a_turn_by_order_max_ms": round(max(exact) * 1000, 1) if exact else None,
            "gap_within_a_turn_by_order_p99_ms": ms([g * 1000 for g in exact], 99),
            "judged_by_gap_same_turn": len(judged_same),
            "judged_by_gap_same_turn_max_ms": round(max(judged_same) * 1000, 1) if judged_same else None,
            "judged_by_gap_new_turn": len(judged_new),
            "judged_by_gap_new_turn_min_ms": round(min(judged_new) * 1000, 1) if judged_new else None,
        },
        "send_lateness_p95_ms": ms(lateness, 95),
        "send_lateness_max_ms": round(max(lateness), 1) if lateness else None,
        "timeline": timeline,
    }


async def run_load(
    residents: int = 200,
    duration: float = 300.0,
    think: tuple[float, float] = (2.0, 4.0),
    seed: int = 1,
    *,
    split_gap: float = SPLIT_GAP,
    drain_limit: float = DRAIN_LIMIT,
    workdir: Path | None = None,
    target: Callable[[Path], contextlib.AbstractContextManager[Any]] | None = None,
) -> tuple[dict[str, Any], dict[int, ChatMatch], str]:
    """The whole benchmark: returns the report, the matching of each chat and the service's log. `target`: what
    to start in the work directory (default `outreach run`, sandbox mode; bench/scaleout.py: a cluster)."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        load_average = os.getloadavg()
        service = stack.enter_context((target or launch_outreach)(workdir))
        assert service.sandbox_url if isinstance(service, Launched) else service.url
        sandbox_url = service.sandbox_url if isinstance(service, Launched) else service.url
        async with EmulatorClient(sandbox_url, timeout=60) as telegram:
            user_ids = [FIRST_USER_ID + index for index in range(residents)]
            users = [await telegram.user(user_id, f"Habitant{index}") for index, user_id in enumerate(user_ids)]
            consent_began = time.perf_counter()
            gate = asyncio.Semaphore(CONSENTS_AT_ONCE)

            async def consented(user: ChatUser) -> None:
                async with gate:
                    await consent(user)

            await asyncio.gather(*(consented(user) for user in users))
            consent_s = time.perf_counter() - consent_began
            await asyncio.sleep(1.0)  # a welcome's last message, if any, stays before the cursor
            # the load window's own client: a few connections (httpx looks at each open one for every request, a
            # cost the residents' phones would not put on this machine), shared by the residents and the event log
            async with EmulatorClient(sandbox_url, timeout=60, connections=LOAD_CONNECTIONS) as lean:
                for user in users:
                    user.client = lean
                log = EventLog(lean, (await lean.status())["last"])
                stop = asyncio.Event()
                follower = asyncio.create_task(log.follow(stop))
                cpu_before, wall_before = cpu_snapshot(service), time.perf_counter()
                loop = asyncio.get_running_loop()
                start = loop.time()
                window = (time.time(), time.time() + duration)  # the emulator's clock (time.time, same machine)
                sent: list[Sent] = []
                send_errors = await asyncio.gather(
                    *(
                        resident(user, random.Random(f"{seed}/{index}"), think, start, start + duration, sent)
                        for index, user in enumerate(users)
                    )
                )
                stop.set()
                await follower
                drain_s = await drain(log, user_ids, len(sent), split_gap, drain_limit)
                cpu_after, wall = cpu_snapshot(service), time.perf_counter() - wall_before
            stats = await telegram.stats()
            matches = matched(log, user_ids, split_gap)
        log_text = target_log(service)
    cpu = cpu_used(cpu_before, cpu_after)
    report: dict[str, Any] = {
        "benchmark": "load",
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "load_average_before": [round(value, 2) for value in load_average],
        "residents": residents,
        "duration_s": duration,
        "think_s": list(think),
        "seed": seed,
        "emulator_enforces_limits": stats.get("enforce_limits"),
        "emulator_429": stats.get("too_many_requests"),
        "consent_s": round(consent_s, 1),
        **summarize(matches, sent, window, duration),
        "send_errors": sum(send_errors),
        "event_read_errors": log.read_errors,
        **log_counts(log_text),
        "cpu_s": cpu,
        "cpu_share_of_one_core": {name: round(value / wall, 2) for name, value in cpu.items()},
        "cpu_wall_s": round(wall, 1),
        "drain_s": round(drain_s, 1),
    }
    report["matching"]["split_gap_ms"] = round(split_gap * 1000)
    return report, matches, log_text


def think_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    bounds = (float(low), float(high or low))
    if not 0 < bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError("--think: LOW-HIGH seconds, 0 < LOW ≤ HIGH")
    return bounds


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of writing")
    parser.add_argument("--think", type=think_range, default=(2.0, 4.0), help="seconds between messages, LOW-HIGH")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--split-gap", type=float, default=SPLIT_GAP, help="seconds (see the docstring)")
    args = parser.parse_args()
    result, _, _ = asyncio.run(run_load(args.residents, args.duration, args.think, args.seed, split_gap=args.split_gap))
    publish("load", result)
