"""Query strings -> known labels: exact phrases, whole words, fuzzy matches, minus terms."""

from engine.retrieval.query import parse_query

LABELS = ["fireplace", "granite countertops", "kitchen", "pool", "brick exterior", "exterior front",
          "living room", "tile floors", "subway tile", "price 500k-750k", "price 91k-275k"]


def test_single_keyword_is_an_exact_match():
    q = parse_query("fireplace", LABELS)
    assert q.labels == ["fireplace"] and q.terms[0].how == "exact" and q.unmatched == []


def test_granite_kitchen_is_a_word_match_plus_a_scene():
    q = parse_query("granite kitchen", LABELS)
    assert q.labels == ["granite countertops", "kitchen"]
    assert [t.how for t in q.terms] == ["word", "exact"]
    assert q.terms[0].describe() == "granite -> granite countertops (word)"


def test_minus_term_subtracts_every_label_holding_the_word():
    q = parse_query("pool -exterior", LABELS)
    assert [t.labels for t in q.positive] == [["pool"]]
    assert [sorted(t.labels) for t in q.negative] == [["brick exterior", "exterior front"]]
    assert q.labels == ["pool", "-brick exterior", "-exterior front"]


def test_quoted_minus_phrase_and_multiword_labels():
    q = parse_query('pool -"exterior front" living room', LABELS)
    assert q.labels == ["pool", "-exterior front", "living room"]


def test_fuzzy_typo_and_plural_and_attribute_range():
    assert parse_query("firplace", LABELS).labels == ["fireplace"]
    assert parse_query("firplace", LABELS).terms[0].how == "fuzzy"
    assert parse_query("pools", LABELS).labels == ["pool"]
    assert parse_query("price 500k-750k", LABELS).labels == ["price 500k-750k"]
    assert sorted(parse_query("tile", LABELS).labels) == ["subway tile", "tile floors"]


def test_filler_words_are_skipped_and_unknown_words_reported():
    q = parse_query("kitchen with granite and zzyzx", LABELS)
    assert q.labels == ["kitchen", "granite countertops"]
    assert q.unmatched == ["zzyzx"]
    assert parse_query("", LABELS).terms == []
    assert parse_query('pool "unbalanced', LABELS).labels == ["pool"]  # no crash on a stray quote
