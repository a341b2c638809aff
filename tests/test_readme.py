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


PRODUCT = ("app", "rag", "feedback", "training", "common", "bench")
_EDGE = "`,;:()'\"→·"


def module_map() -> str:
    """The code block of the README's Architecture section: the one map of the modules."""
    section = README.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```\n", 2)[1]


def _path_token(word: str) -> str | None:
    word = word.strip(_EDGE)
    named = word.endswith(("/", ".py", ".md")) and word.rstrip("/")
    if named and all(part.replace("_", "").replace("-", "").replace(".", "").isalnum() for part in named.split("/")):
        return word
    return None


def named_paths(text: str) -> set[str]:
    """Every path the map names, relative to the repository: a line that starts with a path names
    it under the folder of the nearest less indented folder line above it; the other names on
    that line and its continuation lines are inside it (a folder's line) or beside it (a file's
    line); a name with a folder in it ("bench/RESULTS.md") is from the root."""
    paths: set[str] = set()
    folders: list[tuple[int, str]] = []  # (indent, folder) of the enclosing folder lines
    base = ""
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        indent = len(line) - len(line.lstrip())
        first = _path_token(words[0])
        if first is not None:
            while folders and folders[-1][0] >= indent:
                folders.pop()
            parent = folders[-1][1] if folders else ""
            entry = parent + first
            paths.add(entry.rstrip("/"))
            if first.endswith("/"):
                folders.append((indent, entry))
                base = entry
            else:
                base = parent
            words = words[1:]
        for word in words:
            name = _path_token(word)
            if name is not None:
                paths.add((name if "/" in name.rstrip("/") else base + name).rstrip("/"))
    return paths


def test_the_module_map_names_no_path_that_does_not_exist():
    root = Path(__file__).parents[1]
    named = named_paths(module_map())
    assert len(named) > 50, "the map was not read"
    assert not sorted(p for p in named if not (root / p).exists()), "paths in the README's map that do not exist"


def test_the_module_map_names_every_package_folder():
    root = Path(__file__).parents[1]
    folders = {
        str(d.relative_to(root))
        for top in PRODUCT
        for d in [root / top, *(root / top).rglob("*")]
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))
    }
    assert not sorted(folders - named_paths(module_map())), "package folders the README's map does not name"


def test_the_map_reader_resolves_folders_siblings_and_root_paths():
    text = "a/   x.py\n  b/   y.py, c/\n    z.py  w.py\n  v.py: u.py and d/e.md\nf/\n"
    assert named_paths(text) == {
        "a",
        "a/x.py",
        "a/b",
        "a/b/y.py",
        "a/b/c",
        "a/b/z.py",
        "a/b/w.py",
        "a/v.py",
        "a/u.py",
        "d/e.md",
        "f",
    }
