"""docs/configuration.md, generated from the Settings class so that it cannot drift.

Regenerate with `python -m dep_emulator.core.settings_doc > docs/configuration.md`; a test fails when
the file and the class disagree.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import PydanticUndefined

from .config import Settings

HEADER = """# Configuration

Every setting is an environment variable with the prefix `DEPEMU_`. Bad values stop the service
at start-up with a message naming the variable. This file is generated from
`app/core/config.py` (`python -m dep_emulator.core.settings_doc > docs/configuration.md`).

| Variable | Default | Description |
|---|---|---|
"""


def _default(field: Any) -> str:
    if field.default_factory is not None:
        return "(computed)" if field.default_factory.__name__ != "list" else "(empty)"
    value = field.default
    if value is PydanticUndefined or value is None:
        return "(unset)"
    if hasattr(value, "value"):
        value = value.value
    return f"`{json.dumps(value) if not isinstance(value, str) else value}`"


def render() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `DEPEMU_{name.upper()}` | {_default(field)} | {description} |")
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render(), end="")  # noqa: T201 - the generator's output
