"""Derive eqlmini's bundled ECS table from ECS's generated ``ecs_flat.yml``; run at release time.

    python3 tools/build_ecs_table.py [ECS_FLAT_YML_GZ] [ECS_LICENCE]

Defaults read ``../shared/schemas/ecs/`` beside the project root. Needs PyYAML (only here:
eqlmini itself reads the table without it). Writes ``src/eqlmini/schemas/ecs_fields.tsv``
(one ``field<TAB>type`` line per field, multi-fields such as ``process.name.text`` included,
``name.*`` lines for objects whose sub-fields ECS leaves open with an ``object_type``) and
copies the ECS licence beside it as ``ECS-LICENSE.txt``. Update ``ORIGIN`` with the ECS
commit and version when you refresh the input.
"""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
SHARED_ECS = PROJECT.parent / "shared" / "schemas" / "ecs"
OUT = PROJECT / "src" / "eqlmini" / "schemas"
ORIGIN = ("Elastic Common Schema (ECS) 9.5.0-dev: generated/ecs/ecs_flat.yml of github.com/elastic/ecs, "
          "commit b85f7573f0b48c03fddf90dad06fc743876f1b33")


def table(ecs_flat: dict) -> list[tuple[str, str]]:
    """(field, Elasticsearch type) rows, sorted by field name."""
    rows = []
    for name, spec in ecs_flat.items():
        rows.append((name, spec["type"]))
        for sub in spec.get("multi_fields", ()):
            rows.append((f"{name}.{sub['name']}", sub["type"]))
        if spec["type"] == "object" and spec.get("object_type"):
            rows.append((f"{name}.*", spec["object_type"]))  # labels.*: any key, typed by ECS
    return sorted(rows)


def render(rows: list[tuple[str, str]]) -> str:
    """The file text: a provenance header, then one tab-separated row per line."""
    header = [f"# {ORIGIN}.",
              "# Derived by tools/build_ecs_table.py; Apache License 2.0, see ECS-LICENSE.txt beside this file.",
              "# field<TAB>Elasticsearch type; `name.*` stands for any sub-field of an open object."]
    return "\n".join(header + [f"{name}\t{kind}" for name, kind in rows]) + "\n"


def main(argv: list[str]) -> None:
    source = Path(argv[0]) if argv else SHARED_ECS / "ecs_flat.yml.gz"
    licence = Path(argv[1]) if len(argv) > 1 else SHARED_ECS / "LICENSE.txt"
    with gzip.open(source, "rt", encoding="utf-8") as stream:
        rows = table(yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))  # libyaml if there
    (OUT / "ecs_fields.tsv").write_text(render(rows), encoding="utf-8")
    shutil.copyfile(licence, OUT / "ECS-LICENSE.txt")
    print(f"{len(rows)} fields written to {OUT / 'ecs_fields.tsv'}")


if __name__ == "__main__":
    main(sys.argv[1:])
