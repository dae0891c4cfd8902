"""dep-emulator: Apple's device-enrollment (DEP/ADE) web service, emulated for MDM testing."""

__version__ = "0.1.0"
