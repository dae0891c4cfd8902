"""The emulator playing Apple's attestation CA (device-2026.md §6.3, §6.5, §7)."""
