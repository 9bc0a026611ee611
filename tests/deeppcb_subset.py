"""A small subset of the shared DeepPCB data, in DeepPCB's own layout, for end-to-end tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ROOT

SHARED_DEEPPCB = ROOT.parent / "shared" / "datasets" / "deeppcb"
PAIRS_PER_GROUP = 3
GROUPS = ("group00041", "group13000", "group77000")


def subset(out: Path) -> Path:
    """The first pairs of three board groups, in DeepPCB's own layout (with a trainval.txt)."""
    listing = []
    for line in (SHARED_DEEPPCB / "trainval.txt").read_text().splitlines():
        image, label = line.split()
        group = image.split("/")[0]
        if group in GROUPS and sum(entry.startswith(group) for entry in listing) < PAIRS_PER_GROUP:
            listing.append(line)
            stem = SHARED_DEEPPCB / image
            for source in (stem.with_name(stem.stem + "_test.jpg"), stem.with_name(stem.stem + "_temp.jpg")):
                target = out / source.relative_to(SHARED_DEEPPCB)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, target)
            (out / label).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SHARED_DEEPPCB / label, out / label)
    (out / "trainval.txt").write_text("\n".join(listing) + "\n")
    return out
