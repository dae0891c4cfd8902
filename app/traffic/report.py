"""The traffic report: which rules one MDM server's client broke, read from the journal.

The analysis runs whatever preset is enforced, with the org's effective thresholds where it
has them and the strict preset's otherwise, so a developer sees what Apple (or a vendor's
traffic agreement) would object to before anything is refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from ..journal.models import RequestJournal
from . import rules
from .schemas import Violation

MAX_IDS = 50

RULE_WORDS = {
    "max_page_size": "asked for a page larger than the maximum",
    "max_devices_per_request": "sent more devices in one request than allowed",
    "full_fetch_interval": "repeated a full fetch too soon",
    "sync_interval": "started a sync cycle too soon",
    "session_per_address": "opened sessions too fast from one address",
    "max_concurrent": "sent too many requests at once",
}


def _words_for(rule: str) -> str:
    if rule.startswith("budget:"):
        return f"exceeded the request budget for {rule.split(':', 1)[1]} requests"
    return RULE_WORDS.get(rule, rule)


def _minutes(seconds: float) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        days = int(seconds // 86400)
        return f"{days} day{'s' if days != 1 else ''}"
    minutes = seconds / 60
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}"


def _violation(rule: str, description: str, rows: list[RequestJournal]) -> Violation:
    return Violation(
        rule=rule,
        description=description,
        count=len(rows),
        first_at=rows[0].emulated_at,
        last_at=rows[-1].emulated_at,
        request_ids=[str(r.id) for r in rows[:MAX_IDS]],
    )


def _is(endpoint: str) -> Callable[[RequestJournal], bool]:
    method, path = endpoint.split(" ", 1)
    return lambda r: r.method == method and r.path == path


def analyse(rows: list[RequestJournal], effective: rules.TrafficRules) -> list[Violation]:
    strict = rules.PRESETS["strict"]
    full_fetch_every = effective.full_fetch_interval_seconds or rules.FULL_FETCH_INTERVAL_SECONDS
    sync_every = effective.sync_interval_seconds or rules.STRICT_SYNC_INTERVAL_SECONDS
    max_devices = effective.max_devices_per_request or strict.max_devices_per_request or 1000
    max_page = effective.max_page_size or strict.max_page_size or 1000
    found: list[Violation] = []

    refused: dict[str, list[RequestJournal]] = defaultdict(list)
    for r in rows:
        if r.rule:
            refused[r.rule].append(r)
    for rule, hits in refused.items():
        found.append(_violation(f"refused:{rule}", f"refused {len(hits)} times: {_words_for(rule)}", hits))

    full_fetches = [r for r in rows if _is("POST /server/devices")(r) and not r.cursor]
    repeats = [
        later
        for earlier, later in zip(full_fetches, full_fetches[1:], strict=False)
        if later.emulated_at - earlier.emulated_at < timedelta(seconds=full_fetch_every)
    ]
    if repeats:
        found.append(
            _violation(
                "full_fetch_repeated",
                f"full fetch repeated {len(repeats)} time{'s' if len(repeats) != 1 else ''} "
                f"within {_minutes(full_fetch_every)}",
                repeats,
            )
        )

    starts: list[RequestJournal] = []
    continuation: str | None = None
    for r in filter(_is("POST /devices/sync"), rows):
        if r.cursor is None or r.cursor != continuation:
            starts.append(r)
        continuation = r.response_cursor if r.status == 200 and r.more_to_follow else None
    early = [
        later
        for earlier, later in zip(starts, starts[1:], strict=False)
        if later.emulated_at - earlier.emulated_at < timedelta(seconds=sync_every)
    ]
    if early:
        found.append(
            _violation(
                "sync_too_often",
                f"sync cycle started {len(early)} time{'s' if len(early) != 1 else ''} "
                f"less than {_minutes(sync_every)} after the previous one",
                early,
            )
        )

    big = [r for r in rows if r.device_count is not None and r.device_count > max_devices]
    if big:
        largest = max(r.device_count or 0 for r in big)
        found.append(
            _violation(
                "too_many_devices",
                f"{len(big)} request{'s' if len(big) != 1 else ''} carried more than {max_devices} devices "
                f"(largest: {largest})",
                big,
            )
        )
    pages = [
        r
        for r in rows
        if r.limit is not None and r.limit > max_page and r.path in ("/server/devices", "/devices/sync")
    ]
    if pages:
        found.append(
            _violation(
                "page_too_large", f"asked for pages above {max_page} devices {len(pages)} times", pages
            )
        )

    ignored: list[RequestJournal] = []
    not_before = None
    for r in rows:
        if not_before is not None and r.emulated_at < not_before:
            ignored.append(r)
            continue
        not_before = None
        if r.status in (429, 503) and r.retry_after and r.retry_after.isdigit():
            not_before = r.emulated_at + timedelta(seconds=int(r.retry_after))
    if ignored:
        found.append(
            _violation(
                "retry_after_ignored",
                f"came back before Retry-After had passed {len(ignored)} "
                f"time{'s' if len(ignored) != 1 else ''}",
                ignored,
            )
        )
    return found
