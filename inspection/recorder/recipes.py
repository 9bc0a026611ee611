"""The effective recipe behind each record: the recipe's settings, its model's sha256 and its reference
images' sha256, as one canonical JSON whose sha256 the records carry. A hand edit of the rules, another
model file or a new reference image gives a new hash; the content is kept once per hash in ``recipes``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select

from inspection.config import Recipe
from inspection.core.hashing import file_sha256
from inspection.core.images import list_images
from inspection.recorder.schema import RecipeRow


@dataclass(frozen=True)
class EffectiveRecipe:
    sha256: str
    name: str
    content: str


def effective_recipe(recipe: Recipe, model_sha256: str) -> EffectiveRecipe:
    settings = recipe.model_dump(mode="json", exclude={"model", "reference"})
    for later in ("camera", "ideal_cycle_s"):  # added later: left out while unset, so older hashes stay
        if not settings[later]:
            del settings[later]
    references = _reference_hashes(recipe.reference) if recipe.reference is not None else {}
    content = json.dumps(
        {"recipe": settings, "model_sha256": model_sha256, "references": references},
        sort_keys=True,
        separators=(",", ":"),
    )
    return EffectiveRecipe(hashlib.sha256(content.encode()).hexdigest(), recipe.name, content)


def _reference_hashes(reference: Path) -> dict[str, str]:
    """Each reference image (tolerance bands included) by file name, with its sha256."""
    files = [reference] if reference.is_file() else list_images(reference)
    return {path.name: file_sha256(path) for path in files}


def remember_recipe(engine: Engine, recipe: EffectiveRecipe) -> None:
    """Store the recipe's content under its hash, once (an existing hash is left as it is)."""
    with engine.begin() as connection:
        known = connection.execute(select(RecipeRow.sha256).where(RecipeRow.sha256 == recipe.sha256)).first()
        if known is None:
            connection.execute(
                insert(RecipeRow).values(
                    sha256=recipe.sha256, name=recipe.name, content=recipe.content, first_used_at=datetime.now(UTC)
                )
            )
