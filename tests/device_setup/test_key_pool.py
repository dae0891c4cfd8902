"""The `device_key_pool` setting (bench/ddm.py): identities of the emulated device CA take their
RSA key from a pool reused in turn; 0, the default, makes a fresh key each time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dep_emulator.core import keys
from dep_emulator.core.config import Settings
from pydantic import ValidationError


@pytest.fixture
def restored() -> Iterator[None]:
    yield
    keys.configure(0)


def numbers(key: object) -> int:
    return key.private_numbers().p  # type: ignore[attr-defined, no-any-return]


async def test_fresh_keys_by_default_and_a_pool_reused_in_turn(restored: None) -> None:
    keys.configure(0)
    first, second = await keys.device_key(), await keys.device_key()
    assert numbers(first) != numbers(second)

    keys.configure(2)
    pooled = [numbers(await keys.device_key()) for _ in range(6)]
    assert len(set(pooled)) == 2 and pooled[0] != pooled[1]
    assert pooled[2:] == [pooled[0], pooled[1]] * 2

    keys.configure(1)  # shrinking keeps one of the pooled keys
    assert numbers(await keys.device_key()) == numbers(await keys.device_key())


def test_the_setting_is_bounded() -> None:
    assert Settings(device_key_pool=16).device_key_pool == 16
    with pytest.raises(ValidationError):
        Settings(device_key_pool=-1)
