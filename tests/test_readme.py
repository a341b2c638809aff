"""The README documents every setting: a field added to Settings without a row here fails."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_has_a_row_in_the_readme_settings_table():
    table = README.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| `")}
    missing = [
        f"RAGBOT_{name.upper()}"
        for name in Settings.model_fields
        if not any(f"`RAGBOT_{name.upper()}`" in r for r in rows)
    ]
    assert not missing, f"settings missing from the README's table: {missing}"
