"""Free-text search through the CLIP text tower (tiny registered model, seeded random
weights): the query vector is the prompt ensemble of the text, and it is refused
where the image vectors do not come from that model."""

from __future__ import annotations

import numpy as np
import pytest
from clip_helpers import clip_cache, make_dataset, photos, tiny_cfg, tiny_clip  # noqa: F401  (fixtures)

from engine.core.errors import ConfigError
from engine.features.clip import compute_features
from engine.retrieval.context import Retrieval
from engine.retrieval.search import search_text
from engine.retrieval.text import split_terms, text_tower_vector


def test_split_terms():
    assert split_terms('sunny kitchen -"dark wood" -carpet') == ("sunny kitchen", ["dark wood", "carpet"])


def test_text_tower_query_matches_the_keyword_vectors_and_ranks_by_cosine(tiny_cfg, photos):
    ds, feats = compute_features(make_dataset(list(photos.values())), tiny_cfg)
    q, described = text_tower_vector("pool", tiny_cfg, feats)
    k = ds.keywords.index("pool")
    np.testing.assert_allclose(q, feats.keyword[k], atol=1e-5)  # same prompts, same tower
    assert described == ["'pool' (CLIP text tower)"]
    ctx = Retrieval(ds, feats)
    res = search_text(ctx.space("clip"), ds, "a sunny pool -lawn", 3, clip=tiny_cfg, features=feats)
    q2, _ = text_tower_vector("a sunny pool -lawn", tiny_cfg, feats)
    want = np.argsort(-(feats.image @ q2), kind="stable")[:3]
    assert [h.row for h in res.hits] == list(want)
    np.testing.assert_allclose([h.score for h in res.hits], (feats.image @ q2)[want], atol=1e-5)
    assert res.understood == ["'a sunny pool' (CLIP text tower)", "-'lawn' (CLIP text tower)"]


def test_text_tower_is_refused_next_to_vectors_from_elsewhere(tiny_cfg, tiny_world):
    from engine.features.bundle import precomputed_features

    feats = precomputed_features(tiny_world)  # SYNTHETIC vectors, not the tiny model's
    with pytest.raises(ConfigError, match="free text needs images embedded by the same CLIP model") as exc:
        text_tower_vector("pool", tiny_cfg, feats)
    assert exc.value.field == "text-tower"
