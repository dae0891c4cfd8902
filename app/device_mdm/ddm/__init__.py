"""Declarative Device Management on the virtual device (device-2026.md §3)."""
