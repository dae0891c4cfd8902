"""Documentation that is generated or checked against the code."""

from __future__ import annotations

from pathlib import Path

from dep_emulator.core import settings_doc
from dep_emulator.core.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_configuration_doc_is_generated_from_settings() -> None:
    assert (ROOT / "docs" / "configuration.md").read_text() == settings_doc.render(), (
        "docs/configuration.md is stale: python -m dep_emulator.core.settings_doc > docs/configuration.md"
    )


def test_every_setting_is_described() -> None:
    undocumented = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undocumented == []


def test_contract_testing_doc_shows_the_example_that_runs() -> None:
    example = (ROOT / "tests" / "contract" / "test_example_syncer.py").read_text()
    assert f"```python\n{example}```" in (ROOT / "docs" / "contract-testing.md").read_text()


def test_observed_behaviour_doc_names_every_switch() -> None:
    """docs/observed-behaviour.md lists every observed behaviour and its setting, README links it."""
    from dep_emulator.orgs.settings import OBSERVED_ELSEWHERE, ORG_SETTINGS

    doc = (ROOT / "docs" / "observed-behaviour.md").read_text()
    for key, spec in ORG_SETTINGS.items():
        if spec.observed:
            assert f"| {spec.observed} |" in doc and f"`{key}`: `{spec.default}`" in doc, key
    for name in ("F1", "F2", "F3", "F4", *OBSERVED_ELSEWHERE):
        assert f"| {name} |" in doc, name
    assert "docs/observed-behaviour.md" in (ROOT / "README.md").read_text()
