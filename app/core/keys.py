"""RSA keys for virtual devices' Apple-issued identities: a fresh key each, or (setting
`device_key_pool`) one from a small pool reused across devices.

A real device has a key of its own; a bench of a thousand virtual devices spends most of its
enrollment generating RSA keys. Only the device CA's leaves draw from the pool: keys a device makes
for its MDM (SCEP, ACME) stay fresh, since servers key requests by them (SCEP's transaction ID is
the key's hash). The pool is per process and never leaves it.
"""

from __future__ import annotations

import asyncio
import itertools

from cryptography.hazmat.primitives.asymmetric import rsa

_pool: list[rsa.RSAPrivateKey] = []
_size = 0
_turn = itertools.count()


def configure(pool_size: int) -> None:
    """0: a fresh key for every identity (the default); n: at most n keys, reused in turn."""
    global _size, _turn
    _size, _turn = pool_size, itertools.count()
    del _pool[pool_size:]


def _generate() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


async def device_key() -> rsa.RSAPrivateKey:
    """An RSA 2048 key for a device identity (generated off the event loop)."""
    if len(_pool) >= _size > 0:
        return _pool[next(_turn) % _size]
    key = await asyncio.to_thread(_generate)
    if len(_pool) < _size:
        _pool.append(key)
    return key
