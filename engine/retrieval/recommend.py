"""Recommendations for a group of images ("more like this listing"): the other
groups whose images are closest to the group's, with the pair of images that made
them close.

A group is a value of a text attribute (the demo's ``listing``). Each image of
another group G scores its best cosine with any image of the query group Q; G
scores the mean of its ``top`` best image scores (so a big group is not favoured
for its size, and one near-duplicate does not decide alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.core.errors import ConfigError
from engine.retrieval.space import Space

TOP_IMAGES = 3


@dataclass
class GroupMatch:
    group: str
    score: float
    images: int  # images of the group in the space
    best_id: str  # the group's image closest to the query group
    best_match_id: str  # ... and the query group's image it is closest to
    best_score: float

    def to_json(self) -> dict:
        return {"id": self.group, "score": round(self.score, 6), "images": self.images,
                "best_id": self.best_id, "best_match_id": self.best_match_id, "best_score": round(self.best_score, 6)}


def group_values(dataset, attribute: str) -> list[str]:
    if attribute not in dataset.text:
        raise ConfigError(f"no text attribute '{attribute}' to group images by", field="group",
                          hint=f"available: {', '.join(sorted(dataset.text)) or 'none'}")
    return dataset.text[attribute]


def recommend_groups(space: Space, dataset, group: str, k: int = 10, *, attribute: str = "listing",
                     top: int = TOP_IMAGES) -> list[GroupMatch]:
    """The ``k`` groups closest to ``group`` (itself excluded)."""
    values = np.asarray(group_values(dataset, attribute), dtype=object)[space.rows]
    mine = np.nonzero(values == group)[0]
    if not len(mine):
        raise ConfigError(f"no image of {attribute} '{group}' in the {space.name} space", field="group",
                          hint=f"pass a value of the '{attribute}' column, e.g. {values[0] if len(values) else '?'}")
    sims = space.image @ space.image[mine].T  # (M, |Q|)
    best = sims.max(axis=1)
    arg = mine[sims.argmax(axis=1)]
    others = np.nonzero(values != group)[0]
    by_group: dict[str, list[int]] = {}
    for p in others:
        by_group.setdefault(values[p], []).append(int(p))
    out = []
    for name, ps in by_group.items():
        ps_arr = np.array(ps)
        s = np.sort(best[ps_arr])[::-1][:top]
        j = ps_arr[int(np.argmax(best[ps_arr]))]
        out.append(GroupMatch(str(name), float(s.mean()), len(ps), dataset.ids[space.rows[j]],
                              dataset.ids[space.rows[arg[j]]], float(best[j])))
    out.sort(key=lambda g: (-g.score, g.group))
    return out[:k]
