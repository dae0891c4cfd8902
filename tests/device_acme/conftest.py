"""Fixtures of the ACME tests: the DDM tests' small MDM server and an iPhone enrolled in it."""

from tests.device_ddm.conftest import ddm, device

__all__ = ["ddm", "device"]
