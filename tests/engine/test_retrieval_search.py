"""Text search, similar images, hero images with MMR, group recommendations and the
learned space, on the session's tiny SYNTHETIC world."""

import numpy as np
import pytest
from retrieval_fixtures import features_of, hand_run

from engine.core.errors import ConfigError, DataError
from engine.retrieval.context import Retrieval, best_learned_method
from engine.retrieval.hero import hero_images, mmr_order
from engine.retrieval.query import parse_query
from engine.retrieval.recommend import recommend_groups
from engine.retrieval.search import query_vector, restrict_rows, row_of, search_text, similar_images
from engine.retrieval.space import clip_space, learned_space


@pytest.fixture(scope="module")
def ctx(tiny_world):
    return Retrieval(tiny_world, features_of(tiny_world))


def _holds(ds, row, kw):
    return ds.keywords.index(kw) in ds.image_keywords(row)


def test_keyword_search_returns_images_that_mostly_hold_it(ctx, tiny_world):
    ds = tiny_world
    space = ctx.space("clip")
    for kw in ("fireplace", "kitchen island", "carpet"):
        res = search_text(space, ds, kw, 10)
        assert res.query_labels == [kw]
        assert [h.score for h in res.hits] == sorted((h.score for h in res.hits), reverse=True)
        share = np.mean([h.holds(kw) for h in res.hits])
        prevalence = ds.prevalence()[ds.keywords.index(kw)]
        assert share >= 0.6 and share > 5 * prevalence, (kw, share, prevalence)


def test_scene_query_and_minus_term(ctx, tiny_world):
    space = ctx.space("clip")
    res = search_text(space, tiny_world, "kitchen", 10)
    assert sum(h.scene == "kitchen" for h in res.hits) >= 9
    parsed = parse_query("pool -exterior", list(space.label_kind))
    q, allowed, _ = query_vector(space, parsed)
    v = {k: x / np.linalg.norm(x) for k, x in space.label_vectors.items()}
    exterior = v["brick exterior"] + v["exterior front"]  # one term: its labels' normalised mean
    want = v["pool"] - exterior / np.linalg.norm(exterior)
    np.testing.assert_allclose(q, want / np.linalg.norm(want), atol=1e-5)
    assert allowed is None


def test_query_without_known_labels_is_a_clear_error(ctx, tiny_world):
    with pytest.raises(ConfigError, match="no known label") as exc:
        search_text(ctx.space("clip"), tiny_world, "zzyzx qwv", 5)
    assert exc.value.field == "query" and "fireplace" in exc.value.hint


def test_similar_excludes_itself_and_honours_filters(ctx, tiny_world):
    ds = tiny_world
    space = ctx.space("clip")
    hits = similar_images(space, ds, 7, 8)
    assert 7 not in [h.row for h in hits] and len(hits) == 8
    sims = space.image[[h.row for h in hits]] @ space.image[7]
    np.testing.assert_allclose([h.score for h in hits], sims, atol=1e-5)
    allowed = restrict_rows(ds, scene="bedroom")
    assert all(h.scene == "bedroom" for h in similar_images(space, ds, 7, 5, rows_allowed=allowed))
    with pytest.raises(ConfigError, match="unknown scene"):
        restrict_rows(ds, scene="moon base")
    with pytest.raises(ConfigError, match="needs a run"):
        restrict_rows(ds, split=None, split_value=2)
    with pytest.raises(DataError, match="no image with id") as exc:
        row_of(ds, "img00000x7")
    assert "did you mean" in exc.value.hint


def test_mmr_diversity_spreads_the_top_ten(ctx, tiny_world):
    space = ctx.space("clip")
    plain = hero_images(space, tiny_world, "hardwood floors", 10)
    diverse = hero_images(space, tiny_world, "hardwood floors", 10, diversity=0.5)
    assert [h.row for h in plain] == [h.row for h in search_text(space, tiny_world, "hardwood floors", 10).hits]

    def mean_pair_sim(hits):
        v = space.image[[h.row for h in hits]]
        s = v @ v.T
        return (s.sum() - np.trace(s)) / (len(v) * (len(v) - 1))

    assert mean_pair_sim(diverse) < mean_pair_sim(plain)
    assert diverse[0].row == plain[0].row  # the most relevant image always comes first
    # hand-checked MMR: with lambda 0.5, the near-copy of item 0 loses to the distinct item 2
    vec = np.array([[1, 0], [0.999, 0.045], [0, 1]], dtype=np.float32)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    assert mmr_order(np.array([1.0, 0.95, 0.6]), vec, 3, 0.5) == [0, 2, 1]
    assert mmr_order(np.array([1.0, 0.95, 0.6]), vec, 3, 1.0) == [0, 1, 2]


def test_recommend_groups_excludes_the_query_group(ctx, tiny_world):
    ds = tiny_world
    space = ctx.space("clip")
    group = ds.text["listing"][0]
    out = recommend_groups(space, ds, group, 5)
    assert len(out) == 5 and group not in [g.group for g in out]
    assert [g.score for g in out] == sorted((g.score for g in out), reverse=True)
    mine = {ds.ids[i] for i, v in enumerate(ds.text["listing"]) if v == group}
    assert all(g.best_match_id in mine and g.best_id not in mine for g in out)
    with pytest.raises(ConfigError, match="no text attribute"):
        recommend_groups(space, ds, group, 5, attribute="owner")


def test_learned_space_covers_eval_rows_and_filters_by_scene(tiny_world):
    feats = features_of(tiny_world)
    run = hand_run(tiny_world, feats, {"sage_a": feats.image[np.arange(200, 400)] + 0.0})
    space = learned_space(run, tiny_world, feats)
    assert space.name == "sage_a" and list(space.rows) == list(run.eval_rows)
    assert space.position(0) == -1 and space.position(int(run.eval_rows[3])) == 3
    res = search_text(space, tiny_world, "kitchen fireplace", 10)
    assert res.hits and all(h.scene == "kitchen" for h in res.hits)
    assert any("filter" in n for n in res.notes)
    with pytest.raises(DataError, match="not in the sage_a space"):
        similar_images(space, tiny_world, 0, 5)
    with pytest.raises(ConfigError, match="no learned method"):
        learned_space(run, tiny_world, feats, "sage_b")


def test_default_learned_method_is_chosen_on_validation_images(tiny_world):
    feats = features_of(tiny_world)
    rng = np.random.default_rng(0)
    good = feats.image[200:400].copy()
    noise = rng.normal(size=good.shape).astype(np.float32)
    val = slice(0, 100)  # hand_run: eval rows 200..299 are validation, 300..399 test
    a = good.copy()
    a[val] = noise[val]  # A: useless on validation, good on test
    b = good.copy()
    b[100:] = noise[100:]  # B: good on validation, useless on test
    run = hand_run(tiny_world, feats, {"sage_a": a, "sage_b": b})
    assert best_learned_method(run) == "sage_b"
    assert Retrieval(tiny_world, feats, run).space("learned").name == "sage_b"
    with pytest.raises(ConfigError, match="needs a saved run"):
        Retrieval(tiny_world, feats).space("learned")
