"""Tests for the deterministic device generator (spec §7)."""

import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest
from dep_emulator.devices.generator import FAMILIES, GeneratedDevice, generate_devices

NOW = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)

SERIAL_CHAR = "[0-9A-HJ-NP-Z]"  # upper-case alphanumerics without I and O
MODERN_SERIAL = re.compile(rf"^{SERIAL_CHAR}{{10}}$")
LEGACY_SERIAL = {
    "iPhone": re.compile(rf"^(F2L|F17|DNP|G6T|FFM)[CDFGHJKLMN]{SERIAL_CHAR}{{8}}$"),
    "iPad": re.compile(rf"^(DMP|DLX|F9F|GG7)[CDFGHJKLMN]{SERIAL_CHAR}{{8}}$"),
    "Mac": re.compile(rf"^(C02|C07|FVF|C17)[CDFGHJKLMN]{SERIAL_CHAR}{{8}}$"),
    "AppleTV": re.compile(rf"^(C07|DY3)[CDFGHJKLMN]{SERIAL_CHAR}{{8}}$"),
    "iPod": re.compile(rf"^(CCQ|F4K)[CDFGHJKLMN]{SERIAL_CHAR}{{8}}$"),
}
DESCRIPTION = {
    "iPhone": re.compile(r"^IPHONE [A-Z0-9 ]+ \d+(GB|TB)-[A-Z]{3}$"),
    "iPad": re.compile(r"^IPAD [A-Z0-9. ]+ WI-FI( \+ CELLULAR)? \d+(GB|TB) [A-Z ]+$"),
    "Mac": re.compile(
        r"^(MBP|MBA|MAC MINI|IMAC|MAC STUDIO)[0-9. ]* [A-Z ]+(/[A-Z0-9 .]+)+/\d+(GB|TB)-[A-Z]{3}$"
    ),
    "AppleTV": re.compile(r"^APPLE TV (4K|HD)[A-Z0-9 +-]* \d+GB$"),
    "Vision": re.compile(r"^APPLE VISION PRO \d+(GB|TB)-[A-Z]{3}$"),
    "iPod": re.compile(r"^IPOD TOUCH \d+GB [A-Z ]+$"),
}
MODEL_NAME = {
    "iPhone": re.compile(r"^iPhone "),
    "iPad": re.compile(r"^iPad"),
    "Mac": re.compile(r"^(MacBook (Pro|Air) \d\d-inch|Mac mini|iMac|Mac Studio)"),
    "AppleTV": re.compile(r"^Apple TV (4K|HD)$"),
    "Vision": re.compile(r"^Apple Vision Pro$"),
    "iPod": re.compile(r"^iPod touch$"),
}
OS = {"iPhone": "iOS", "iPad": "iPadOS", "Mac": "OSX", "AppleTV": "tvOS", "Vision": "visionOS", "iPod": "iOS"}
MAC_ADDRESS = re.compile(r"^([0-9A-F]{2}:){5}[0-9A-F]{2}$")
IMEI = re.compile(r"^\d{2} \d{6} \d{6} \d$")
MEID = re.compile(r"^[0-9A-F]{14}$")
EID = re.compile(r"^8904\d{28}$")


def devices(count: int, **kwargs: object) -> list[GeneratedDevice]:
    return list(generate_devices(count, now=NOW, **kwargs))  # type: ignore[arg-type]


def luhn_valid(digits: str) -> bool:
    """Independent textbook Luhn check, to cross-check the generator's table-driven one."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


@pytest.fixture(scope="module")
def sample() -> list[GeneratedDevice]:
    return devices(20_000, seed=42)


def test_same_arguments_give_the_same_devices() -> None:
    assert devices(500, seed=7) == devices(500, seed=7)
    assert devices(200, seed=7) != devices(200, seed=8)


@pytest.mark.parametrize("kwargs", [{}, {"seed": 5, "families": ["iPad", "Mac"]}, {"order_number": "PO-1"}])
def test_start_resumes_the_same_sequence(kwargs: dict[str, object]) -> None:
    full = devices(1_000, **kwargs)
    chunks = [d for k in range(0, 1_000, 137) for d in devices(min(137, 1_000 - k), start=k, **kwargs)]
    assert chunks == full
    assert devices(1, start=999, **kwargs) == full[999:]


def test_serials_unique_over_200k_and_rate() -> None:
    started = time.perf_counter()
    serials = {d.serial_number for d in generate_devices(200_000, seed=11, now=NOW)}
    rate = 200_000 / (time.perf_counter() - started)
    print(f"generated {rate:,.0f} devices/s")  # noqa: T201  (informative only; timing is not asserted)
    assert len(serials) == 200_000


def test_distinct_seeds_give_disjoint_serials() -> None:
    samples = [{d.serial_number for d in devices(20_000, seed=seed)} for seed in (1, 2, 3, 10**12)]
    for i, a in enumerate(samples):
        for b in samples[i + 1 :]:
            assert a.isdisjoint(b)


def test_formats_per_family(sample: list[GeneratedDevice]) -> None:
    for d in sample:
        fam = d.device_family
        legacy = LEGACY_SERIAL.get(fam)
        assert MODERN_SERIAL.match(d.serial_number) or (legacy and legacy.match(d.serial_number)), d
        assert DESCRIPTION[fam].match(d.description), d.description
        assert MODEL_NAME[fam].match(d.model), d.model
        assert d.os == OS[fam]
        assert d.color and d.color == d.color.upper()
        assert d.wifi_mac_address and MAC_ADDRESS.match(d.wifi_mac_address)
        assert d.bluetooth_mac_address and MAC_ADDRESS.match(d.bluetooth_mac_address)
        if d.ethernet_mac_address is not None:
            assert fam in ("Mac", "AppleTV") and MAC_ADDRESS.match(d.ethernet_mac_address)
    lengths = Counter(len(d.serial_number) for d in sample)
    assert lengths[10] > lengths[12] > 0  # mostly modern serials, some legacy ones
    assert any(d.ethernet_mac_address for d in sample if d.device_family == "AppleTV")


def test_realistic_examples_appear(sample: list[GeneratedDevice]) -> None:
    models = {d.model for d in sample}
    for name in (
        "iPhone 15 Pro",
        "iPad Air 11-inch (M2)",
        "MacBook Pro 14-inch",
        "Mac mini",
        "iMac",
        "Apple TV 4K",
        "Apple Vision Pro",
        "iPod touch",
    ):
        assert name in models
    assert any(d.description.startswith("IPHONE 15 PRO NAT TI ") for d in sample)
    assert {"SPACE GRAY", "MIDNIGHT", "SILVER", "STARLIGHT", "NATURAL TITANIUM"} <= {d.color for d in sample}


def test_imeis_are_luhn_valid(sample: list[GeneratedDevice]) -> None:
    assert luhn_valid("490154203237518") and not luhn_valid("490154203237517")  # validate the validator
    imeis = [i for d in sample for i in d.imei]
    assert len(imeis) > 5_000
    for imei in imeis:
        assert IMEI.match(imei), imei
        assert luhn_valid(imei.replace(" ", "")), imei


def test_cellular_fields_only_on_cellular_models(sample: list[GeneratedDevice]) -> None:
    ipads = Counter("CELLULAR" in d.description for d in sample if d.device_family == "iPad")
    assert 0.15 < ipads[True] / (ipads[True] + ipads[False]) < 0.45
    for d in sample:
        cellular = d.device_family == "iPhone" or (d.device_family == "iPad" and "CELLULAR" in d.description)
        if not cellular:
            assert (d.imei, d.meid, d.eid) == ((), (), None), d
            continue
        assert 1 <= len(d.imei) <= 2
        for meid in d.meid:
            assert MEID.match(meid) and d.imei[0].replace(" ", "").startswith(meid)
        if d.eid is not None:
            assert EID.match(d.eid) and int(d.eid) % 97 == 1  # ISO 7064 mod 97-10, as on real eSIMs
    assert any(d.meid for d in sample) and any(not d.meid and d.imei for d in sample)
    assert any(d.eid for d in sample) and any(d.eid is None and d.imei for d in sample)


def test_default_family_mix_is_weighted(sample: list[GeneratedDevice]) -> None:
    share = {f: n / len(sample) for f, n in Counter(d.device_family for d in sample).items()}
    expected = {"iPhone": 0.40, "iPad": 0.30, "Mac": 0.25, "AppleTV": 0.03, "Vision": 0.01, "iPod": 0.01}
    assert set(share) == set(FAMILIES)
    for fam, want in expected.items():
        assert abs(share[fam] - want) < 0.02, (fam, share[fam])


def test_asset_tags_on_about_a_fifth(sample: list[GeneratedDevice]) -> None:
    tagged = sum(d.asset_tag is not None for d in sample) / len(sample)
    assert 0.15 < tagged < 0.25


def test_families_filter_is_order_insensitive() -> None:
    picked = devices(2_000, families=["Vision", "iPad"])
    assert {d.device_family for d in picked} == {"iPad", "Vision"}
    assert picked == devices(2_000, families=("iPad", "Vision"))
    assert {d.device_family for d in devices(50, families="Mac")} == {"Mac"}


@pytest.mark.parametrize("families", [["iPhone", "Watch"], ["watch"]])
def test_unknown_family_is_rejected_by_name(families: list[str]) -> None:
    bad = families[-1]
    with pytest.raises(ValueError, match=bad):
        generate_devices(1, families=families, now=NOW)  # raised at the call, not on first next()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"families": []},
        {"count": -1},
        {"start": -5},
        {"start": 2**40},
        {"now": datetime(2026, 1, 1)},
    ],
)
def test_invalid_arguments(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"count": 1, "now": NOW} | kwargs
    with pytest.raises(ValueError):
        generate_devices(**args)  # type: ignore[arg-type]


def test_generated_orders_are_shared_by_blocks_with_fixed_dates() -> None:
    batch = devices(500, seed=3)
    assert all(re.match(r"^ORD-\d{4}-\d{6}$", d.order_number or "") for d in batch)
    blocks = [{(d.order_number, d.order_date) for d in batch[k : k + 50]} for k in range(0, 500, 50)]
    assert all(len(block) == 1 for block in blocks)
    assert len(set().union(*blocks)) == 10
    for d in batch:
        assert d.order_date is not None and d.order_date.utcoffset() == timedelta(0)
        assert NOW - timedelta(days=3 * 365) <= d.order_date <= NOW - timedelta(days=3)
        assert d.order_number is not None and d.order_number[4:8] == str(d.order_date.year)


def test_given_order_number_has_one_date() -> None:
    batch = devices(300, seed=3, order_number="PO-77")
    assert {(d.order_number, d.order_date) for d in batch} == {("PO-77", batch[0].order_date)}


def test_now_in_another_zone_yields_utc_dates() -> None:
    shifted = NOW.astimezone(timezone(timedelta(hours=5)))
    batch = list(generate_devices(10, now=shifted))
    assert batch == devices(10)
    assert all(d.order_date is not None and d.order_date.tzinfo is UTC for d in batch)


def test_last_index_is_reachable() -> None:
    (last,) = devices(1, start=2**40 - 1)
    assert MODERN_SERIAL.match(last.serial_number) or len(last.serial_number) == 12
