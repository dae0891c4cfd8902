"""Deterministic generator of realistic Apple devices (spec §7, Device object).

Every device is a pure function of ``(seed, families, order_number, index)``: one BLAKE2b digest per
index feeds all random choices, so ``start=k`` resumes the sequence exactly and a million devices can
be produced in chunks without keeping state. Serial numbers embed a keyed bijection of the index,
which makes them unique within a sequence without remembering earlier ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TypeVar

FAMILIES: tuple[str, ...] = ("iPhone", "iPad", "Mac", "AppleTV", "Vision", "iPod")

# ---------------------------------------------------------------------------------------------------
# Data tables
# ---------------------------------------------------------------------------------------------------

# fmt: off
_FAMILY_WEIGHTS = {"iPhone": 40, "iPad": 30, "Mac": 25, "AppleTV": 3, "Vision": 1, "iPod": 1}
_FAMILY_OS = {"iPhone": "iOS", "iPad": "iPadOS", "Mac": "OSX", "AppleTV": "tvOS", "Vision": "visionOS",
              "iPod": "iOS"}
# How Apple's SKU text is laid out per family; unused fields are ignored by str.format.
_DESCRIPTION = {
    "iPhone": "{sku} {abbr} {storage}-{region}",                 # IPHONE 15 PRO NAT TI 256GB-USA
    "iPad": "{sku} {conn} {storage} {color}",                     # IPAD AIR 11 WI-FI 128GB SPACE GRAY
    "Mac": "{sku} {color}/{cfg}/{storage}-{region}",              # MBP 14 SPACE BLACK/M3 PRO/.../512GB-USA
    "AppleTV": "{sku} {storage}",                                 # APPLE TV 4K WI-FI + ETHERNET 128GB
    "Vision": "{sku} {storage}-{region}",                         # APPLE VISION PRO 256GB-USA
    "iPod": "{sku} {storage} {color}",                            # IPOD TOUCH 32GB SPACE GRAY
}
# Apple abbreviates long colour names inside iPhone SKUs.
_COLOR_ABBR = {"NATURAL TITANIUM": "NAT TI", "BLUE TITANIUM": "BLU TI", "WHITE TITANIUM": "WHT TI",
               "BLACK TITANIUM": "BLK TI", "DESERT TITANIUM": "DES TI", "ULTRAMARINE": "ULTRA"}
_REGIONS = ("USA",) * 5 + ("CAN", "ZDD", "ZDD", "GBR", "AUS", "JPN", "ZML")
_OUIS = ("F0:18:98", "3C:22:FB", "A4:83:E7", "BC:D0:74", "F4:D4:88", "8C:85:90", "AC:BC:32", "D0:81:7A")
# Plant codes that open pre-2021 12-character serials, and year letters that follow them.
_LEGACY_PREFIXES = {"iPhone": ("F2L", "F17", "DNP", "G6T", "FFM"), "iPad": ("DMP", "DLX", "F9F", "GG7"),
                    "Mac": ("C02", "C07", "FVF", "C17"), "AppleTV": ("C07", "DY3"), "iPod": ("CCQ", "F4K")}
_YEAR_LETTERS = "CDFGHJKLMN"


# fmt: on


@dataclass(frozen=True, slots=True)
class _Model:
    family: str
    name: str
    sku: str
    colors: tuple[str, ...]
    storages: tuple[str, ...]
    weight: int = 1
    legacy: bool = False  # 12-character serial (devices released before late 2020/2021)
    cellular: str = "never"  # "always" | "optional" | "never"
    esim: bool = False
    meid: bool = False  # CDMA-capable: MEID is the IMEI's first 14 digits
    tac: str = ""  # IMEI type allocation code (8 digits)
    ethernet: bool = False
    configs: tuple[str, ...] = ("",)


# fmt: off
_TI4 = ("NATURAL TITANIUM", "BLUE TITANIUM", "WHITE TITANIUM", "BLACK TITANIUM")
_MODELS: tuple[_Model, ...] = (
    _Model("iPhone", "iPhone 16 Pro", "IPHONE 16 PRO", ("DESERT TITANIUM",) + _TI4[::2] + _TI4[3:],
           ("128GB", "256GB", "512GB", "1TB"), 3, cellular="always", esim=True, tac="35911548"),
    _Model("iPhone", "iPhone 16", "IPHONE 16", ("BLACK", "WHITE", "PINK", "TEAL", "ULTRAMARINE"),
           ("128GB", "256GB", "512GB"), 3, cellular="always", esim=True, tac="35733461"),
    _Model("iPhone", "iPhone 15 Pro", "IPHONE 15 PRO", _TI4, ("128GB", "256GB", "512GB", "1TB"), 3,
           cellular="always", esim=True, tac="35881265"),
    _Model("iPhone", "iPhone 15", "IPHONE 15", ("BLACK", "BLUE", "GREEN", "YELLOW", "PINK"),
           ("128GB", "256GB", "512GB"), 3, cellular="always", esim=True, tac="35472883"),
    _Model("iPhone", "iPhone 14", "IPHONE 14", ("MIDNIGHT", "STARLIGHT", "PURPLE", "BLUE", "RED"),
           ("128GB", "256GB", "512GB"), 2, cellular="always", esim=True, tac="35084140"),
    _Model("iPhone", "iPhone 13", "IPHONE 13", ("MIDNIGHT", "STARLIGHT", "PINK", "BLUE", "RED"),
           ("128GB", "256GB", "512GB"), 2, cellular="always", esim=True, meid=True, tac="35395181"),
    _Model("iPhone", "iPhone SE (3rd generation)", "IPHONE SE", ("MIDNIGHT", "STARLIGHT", "RED"),
           ("64GB", "128GB", "256GB"), 2, cellular="always", esim=True, meid=True, tac="35617463"),
    _Model("iPhone", "iPhone 12", "IPHONE 12", ("BLACK", "WHITE", "BLUE", "GREEN", "RED"),
           ("64GB", "128GB", "256GB"), 1, legacy=True, cellular="always", esim=True, meid=True,
           tac="35300711"),
    _Model("iPhone", "iPhone 8", "IPHONE 8", ("SPACE GRAY", "SILVER", "GOLD"), ("64GB", "256GB"), 1,
           legacy=True, cellular="always", meid=True, tac="35302909"),
    _Model("iPad", "iPad Pro 13-inch (M4)", "IPAD PRO 13", ("SPACE BLACK", "SILVER"),
           ("256GB", "512GB", "1TB", "2TB"), 2, cellular="optional", esim=True, tac="35204528"),
    _Model("iPad", "iPad Air 11-inch (M2)", "IPAD AIR 11", ("SPACE GRAY", "STARLIGHT", "PURPLE", "BLUE"),
           ("128GB", "256GB", "512GB", "1TB"), 3, cellular="optional", esim=True, tac="35871944"),
    _Model("iPad", "iPad (10th generation)", "IPAD 10.9", ("SILVER", "BLUE", "PINK", "YELLOW"),
           ("64GB", "256GB"), 4, cellular="optional", esim=True, tac="35438072"),
    _Model("iPad", "iPad mini (6th generation)", "IPAD MINI 6", ("SPACE GRAY", "PINK", "PURPLE",
           "STARLIGHT"), ("64GB", "256GB"), 2, cellular="optional", esim=True, tac="35334712"),
    _Model("iPad", "iPad (9th generation)", "IPAD 10.2", ("SPACE GRAY", "SILVER"), ("64GB", "256GB"), 3,
           legacy=True, cellular="optional", esim=True, meid=True, tac="35299409"),
    _Model("iPad", "iPad mini 4", "IPAD MINI 4", ("SPACE GRAY", "SILVER", "GOLD"), ("32GB", "128GB"), 1,
           legacy=True, cellular="optional", meid=True, tac="35905106"),
    _Model("Mac", "MacBook Pro 14-inch", "MBP 14", ("SPACE BLACK", "SILVER"), ("512GB", "1TB"), 3,
           configs=("M3 PRO/18C GPU/18GB", "M3/10C GPU/8GB", "M3 MAX/30C GPU/36GB")),
    _Model("Mac", "MacBook Pro 16-inch", "MBP 16", ("SPACE BLACK", "SILVER"), ("512GB", "1TB"), 1,
           configs=("M3 PRO/18C GPU/18GB", "M3 MAX/40C GPU/48GB")),
    _Model("Mac", "MacBook Air 13-inch (M2)", "MBA 13", ("MIDNIGHT", "STARLIGHT", "SPACE GRAY", "SILVER"),
           ("256GB", "512GB"), 4, configs=("M2/8C GPU/8GB", "M2/10C GPU/16GB")),
    _Model("Mac", "MacBook Air 15-inch (M3)", "MBA 15", ("MIDNIGHT", "STARLIGHT", "SPACE GRAY", "SILVER"),
           ("256GB", "512GB"), 2, configs=("M3/10C GPU/8GB", "M3/10C GPU/16GB")),
    _Model("Mac", "Mac mini", "MAC MINI", ("SILVER",), ("256GB", "512GB"), 2, ethernet=True,
           configs=("M2/10C GPU/8GB", "M2 PRO/16C GPU/16GB")),
    _Model("Mac", "iMac", "IMAC 24", ("BLUE", "GREEN", "PINK", "SILVER", "YELLOW", "ORANGE", "PURPLE"),
           ("256GB", "512GB"), 2, ethernet=True, configs=("M3/8C GPU/8GB", "M3/10C GPU/16GB")),
    _Model("Mac", "Mac Studio", "MAC STUDIO", ("SILVER",), ("512GB", "1TB"), 1, ethernet=True,
           configs=("M2 MAX/30C GPU/32GB", "M2 ULTRA/60C GPU/64GB")),
    _Model("Mac", "MacBook Pro 13-inch", "MBP 13.3", ("SPACE GRAY", "SILVER"), ("256GB", "512GB"), 1,
           legacy=True, configs=("2.0GHZ QC I5/16GB", "M1/8C GPU/8GB")),
    _Model("AppleTV", "Apple TV 4K", "APPLE TV 4K WI-FI + ETHERNET", ("BLACK",), ("128GB",), 3,
           ethernet=True),
    _Model("AppleTV", "Apple TV HD", "APPLE TV HD", ("BLACK",), ("32GB",), 1, legacy=True, ethernet=True),
    _Model("Vision", "Apple Vision Pro", "APPLE VISION PRO", ("SILVER",), ("256GB", "512GB", "1TB")),
    _Model("iPod", "iPod touch", "IPOD TOUCH", ("SPACE GRAY", "SILVER", "GOLD", "PINK", "BLUE", "RED"),
           ("32GB", "128GB", "256GB"), 1, legacy=True),
)
# fmt: on

# ---------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GeneratedDevice:
    """One device as Apple would list it; cellular identifiers are empty on non-cellular devices."""

    serial_number: str
    model: str
    description: str
    color: str
    device_family: str
    os: str
    asset_tag: str | None
    order_number: str | None
    order_date: datetime | None
    wifi_mac_address: str | None
    bluetooth_mac_address: str | None
    ethernet_mac_address: str | None
    imei: tuple[str, ...]
    meid: tuple[str, ...]
    eid: str | None


ORDER_BLOCK = 50  # consecutive indexes that share one generated order
_INDEX_BITS = 40  # serials stay unique for the first 2**40 indexes
_MAX_INDEX = 1 << _INDEX_BITS


def generate_devices(
    count: int,
    *,
    seed: int = 0,
    families: Sequence[str] | None = None,
    order_number: str | None = None,
    start: int = 0,
    now: datetime,
) -> Iterator[GeneratedDevice]:
    """Yield devices ``start .. start+count-1`` of the sequence for these arguments.

    Arguments are validated eagerly (before the first ``next()``) so callers get errors at the call site.
    """
    fams = _normalize_families(families)
    if count < 0 or start < 0 or start + count > _MAX_INDEX:
        raise ValueError(f"indexes must lie in [0, 2**{_INDEX_BITS}); got start={start}, count={count}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    plan = _Plan(seed, fams, order_number, now.astimezone(UTC))
    return (plan.device(i) for i in range(start, start + count))


def _normalize_families(families: Sequence[str] | str | None) -> tuple[str, ...]:
    """Canonical order makes the sequence independent of how the caller ordered the filter."""
    if families is None:
        return FAMILIES
    if isinstance(families, str):
        families = (families,)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown device family {unknown[0]!r}; expected one of {', '.join(FAMILIES)}")
    if not families:
        raise ValueError("families must not be empty")
    return tuple(f for f in FAMILIES if f in families)


# ---------------------------------------------------------------------------------------------------
# Internals
# ---------------------------------------------------------------------------------------------------

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # Apple serials never use I or O
_TRIPLES = tuple(a + b + c for a in _ALPHABET for b in _ALPHABET for c in _ALPHABET)
_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_LUHN_PAIR = tuple(a + _LUHN_DOUBLE[b] for a in range(10) for b in range(10))  # digits "ab", b doubled
_TAC_LUHN = {m.tac: sum(_LUHN_PAIR[int(m.tac[i : i + 2])] for i in (0, 2, 4, 6)) for m in _MODELS if m.tac}
_MASK = _MAX_INDEX - 1
_MODERN_HIGH = 34**10 // _MAX_INDEX  # random headroom above the index bits
_EID_HEAD = 89049032 * 10**22
_T = TypeVar("_T")
# (color, description) pairs per model and connectivity, so a device picks its SKU text with one index.
_Variants = tuple[tuple[str, str], ...]


def _weighted(pairs: Sequence[tuple[_T, int]]) -> tuple[_T, ...]:
    """Lookup table where each item appears ``weight`` times: a weighted pick becomes one index."""
    return tuple(item for item, weight in pairs for _ in range(weight))


def _variants(m: _Model, cellular: bool) -> _Variants:
    """Every colour/storage/config/region SKU of a model; regions repeat to weight the USA."""
    template = _DESCRIPTION[m.family]
    regions = _REGIONS if "{region}" in template else ("",)
    conn = "WI-FI + CELLULAR" if cellular else "WI-FI"
    return tuple(
        (
            color,
            template.format(
                sku=m.sku,
                abbr=_COLOR_ABBR.get(color, color),
                color=color,
                storage=storage,
                region=region,
                cfg=cfg,
                conn=conn,
            ),
        )
        for color in m.colors
        for storage in m.storages
        for cfg in m.configs
        for region in regions
    )


_VARIANTS: dict[tuple[str, bool], _Variants] = {
    (m.name, cell): _variants(m, cell) for m in _MODELS for cell in (False, True)
}


def _encode(value: int, width: int) -> str:
    """Last ``width`` (at most 12) base-34 digits of value, in the serial alphabet, 3 per lookup."""
    hi, c = divmod(value, 39304)
    hi, b = divmod(hi, 39304)
    hi, a = divmod(hi, 39304)
    return (_TRIPLES[hi % 39304] + _TRIPLES[a] + _TRIPLES[b] + _TRIPLES[c])[-width:]


def _imei(tac: str, snr: int) -> str:
    """IMEI in Apple's display form: TAC, 6-digit serial and the Luhn check digit."""
    total = _TAC_LUHN[tac] + _LUHN_PAIR[snr // 10000] + _LUHN_PAIR[snr // 100 % 100] + _LUHN_PAIR[snr % 100]
    return f"{tac[:2]} {tac[2:]} {snr:06d} {-total % 10}"


def _eid(body: int) -> str:
    """32-digit EID whose last two digits are the ISO 7064 mod 97-10 check, as on real eSIMs."""
    head = _EID_HEAD + body % 10**22
    return f"{head}{98 - head * 100 % 97:02d}"


def _mac(oui: str, nic: int) -> str:
    return f"{oui}:{(nic & 0xFFFFFF).to_bytes(3, 'big').hex(':').upper()}"


class _Plan:
    """Everything derived once from the arguments, so the per-index work is one hash and lookups."""

    def __init__(self, seed: int, fams: tuple[str, ...], order_number: str | None, now: datetime) -> None:
        key = hashlib.blake2b(repr((seed, fams, order_number)).encode(), digest_size=32).digest()
        self._hasher = hashlib.blake2b(key, digest_size=48)
        self._keys = [int.from_bytes(key[i : i + 5], "big") for i in (0, 5, 10)]
        self._now = now
        self._order_number = order_number
        self._order: tuple[int, str | None, datetime | None] = (-1, None, None)
        self._families = _weighted([(f, _FAMILY_WEIGHTS[f]) for f in fams])
        self._models = {
            f: _weighted(
                [
                    ((m, _VARIANTS[m.name, False], _VARIANTS[m.name, True]), m.weight)
                    for m in _MODELS
                    if m.family == f
                ]
            )
            for f in fams
        }

    def _digest(self, tag: bytes) -> bytes:
        h = self._hasher.copy()
        h.update(tag)
        return h.digest()

    def _serial(self, m: _Model, index: int, d: bytes) -> str:
        """Serial whose core is a keyed bijection of the index (xor, odd multiply, xorshift on 40 bits).

        Distinct indexes therefore never collide; the random rest only adds realism and cross-seed spread.
        Modern serials are 10 characters, legacy ones are plant code + year letter + 8 characters.
        """
        k1, k2, k3 = self._keys
        core = ((index ^ k1) * 0x9E3779B97F4A7C15) & _MASK
        core = ((core ^ (core >> 21) ^ k2) * 0xBF58476D1CE4E5B9) & _MASK
        core = ((core ^ (core >> 21) ^ k3) * 0x94D049BB133111EB) & _MASK
        core ^= core >> 21
        if m.legacy:
            prefixes = _LEGACY_PREFIXES[m.family]
            return prefixes[d[8] % len(prefixes)] + _YEAR_LETTERS[d[9] % 10] + _encode(core, 8)
        return _encode(core + ((d[8] << 8 | d[9]) % _MODERN_HIGH << _INDEX_BITS), 10)

    def _order_for(self, index: int) -> tuple[str | None, datetime | None]:
        """Order of the block holding ``index``; one date per order, a few days to 3 years before now."""
        block = 0 if self._order_number else index // ORDER_BLOCK
        if self._order[0] != block:
            d = self._digest(b"order" + block.to_bytes(8, "big"))
            days = 4 + int.from_bytes(d[0:2], "big") % (3 * 365 - 4)
            when = datetime.combine(self._now.date() - timedelta(days=days), time(8 + d[2] % 10), UTC)
            number = self._order_number or f"ORD-{when.year}-{int.from_bytes(d[3:6], 'big') % 10**6:06d}"
            self._order = (block, number, when)
        return self._order[1], self._order[2]

    def device(self, index: int) -> GeneratedDevice:
        """Device ``index``: each byte of the digest drives one choice (see the slices below)."""
        h = self._hasher.copy()
        h.update(index.to_bytes(8, "big"))
        d = h.digest()
        fam = self._families[(d[0] << 8 | d[1]) % len(self._families)]
        models = self._models[fam]
        m, wifi_only, with_cell = models[d[2] % len(models)]
        cellular = m.cellular == "always" or (m.cellular == "optional" and d[4] < 77)  # ~30% of iPads
        variants = with_cell if cellular else wifi_only
        color, description = variants[(d[5] << 8 | d[6]) % len(variants)]
        oui, nic = _OUIS[d[10] % len(_OUIS)], int.from_bytes(d[11:14], "big")
        imei: tuple[str, ...] = ()
        if cellular:
            imei = (_imei(m.tac, int.from_bytes(d[14:17], "big") % 10**6),)
            if fam == "iPhone" and m.esim:  # dual-SIM iPhones report a second IMEI for the eSIM line
                imei += (_imei(m.tac, int.from_bytes(d[17:20], "big") % 10**6),)
        order_number, order_date = self._order_for(index)
        asset_tag = None
        if d[20] < 51:  # ~20% of organisations tag their devices
            asset_tag = f"{('IT-', 'AT', 'A')[d[21] % 3]}{int.from_bytes(d[22:25], 'big') % 10**6:06d}"
        return GeneratedDevice(
            serial_number=self._serial(m, index, d),
            model=m.name,
            description=description,
            color=color,
            device_family=fam,
            os=_FAMILY_OS[fam],
            asset_tag=asset_tag,
            order_number=order_number,
            order_date=order_date,
            wifi_mac_address=_mac(oui, nic),
            bluetooth_mac_address=_mac(oui, nic + 1),  # Apple assigns consecutive addresses per device
            ethernet_mac_address=_mac(oui, nic - 1) if m.ethernet else None,
            imei=imei,
            meid=(imei[0].replace(" ", "")[:14],) if imei and m.meid else (),
            eid=_eid(int.from_bytes(d[25:35], "big")) if cellular and m.esim else None,
        )
