"""Apple's SkipKeys as of late 2026 (issue 31 §6): 54 keys, filtered by platform and OS version."""

from __future__ import annotations

from dep_emulator.device_setup import skip_keys


def test_the_54_keys_and_the_two_2026_additions() -> None:
    assert len(skip_keys.SKIP_KEYS) == 54
    ios_26 = dict(skip_keys.panes("iOS", "26.5"))
    assert ios_26["AccessibilityAppearance"] == "Accessibility Appearance"
    assert "LiquidGlass" not in ios_26
    assert "AccessibilityAppearance" not in dict(skip_keys.panes("iOS", "16.7"))
    assert dict(skip_keys.panes("iPadOS", "27.0"))["LiquidGlass"] == "Liquid Glass"
    mac_27 = dict(skip_keys.panes("OSX", "27.0"))
    assert "LiquidGlass" in mac_27 and "AccessibilityAppearance" not in mac_27
    assert "LiquidGlass" not in dict(skip_keys.panes("OSX", "26.5"))
    for os in ("tvOS", "visionOS"):
        assert not {"LiquidGlass", "AccessibilityAppearance"} & set(dict(skip_keys.panes(os, "27.0")))
