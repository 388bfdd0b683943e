"""A query string -> the known labels it means (no text tower needed).

Terms are split like a shell line (``"exterior front"`` keeps a phrase together);
a term starting with ``-`` is subtracted. Consecutive plain words are matched
greedily, longest phrase first, against every label (keywords, scenes, attribute
ranges), case-insensitively:

1. **exact**: the words are a label (``fireplace``, ``living room``, ``price 500k-750k``);
2. **word**: a single word is a whole word of one or more labels (``granite`` ->
   ``granite countertops``; ``exterior`` -> ``exterior front`` and ``brick exterior``),
   a trailing plural ``s`` forgiven;
3. **fuzzy**: the closest label or label word by difflib (ratio >= 0.75:
   ``firplace`` -> ``fireplace``).

Filler words (``with``, ``and``, ...) are skipped; words matching nothing are
reported, so the user always sees what the query was understood as.
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass, field

FUZZY_CUTOFF = 0.75
MAX_PHRASE = 4
STOPWORDS = frozenset({"a", "an", "and", "the", "with", "of", "in", "on", "for", "to", "or", "image", "images",
                       "photo", "photos", "picture", "pictures"})


@dataclass
class Term:
    """One query term and the labels it was understood as."""

    text: str  # as typed (without the minus)
    labels: list[str]
    how: str  # "exact" | "word" | "fuzzy"
    negative: bool = False

    def describe(self) -> str:
        sign = "-" if self.negative else ""
        shown = " + ".join(self.labels)
        return f"{sign}{shown}" if self.how == "exact" else f"{sign}{self.text} -> {shown} ({self.how})"


@dataclass
class ParsedQuery:
    text: str
    terms: list[Term] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """Every label used, ``-label`` for subtracted ones, in query order."""
        return [("-" if t.negative else "") + lab for t in self.terms for lab in t.labels]

    @property
    def positive(self) -> list[Term]:
        return [t for t in self.terms if not t.negative]

    @property
    def negative(self) -> list[Term]:
        return [t for t in self.terms if t.negative]


def _words(label: str) -> list[str]:
    return [w for w in re.split(r"[\s\-_/]+", label.lower()) if w]


class LabelMatcher:
    """Matches query words against a fixed list of labels."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = list(dict.fromkeys(labels))
        self.by_lower = {lab.lower(): lab for lab in self.labels}
        self.by_word: dict[str, list[str]] = {}
        for lab in self.labels:
            for w in _words(lab):
                self.by_word.setdefault(w, [])
                if lab not in self.by_word[w]:
                    self.by_word[w].append(lab)

    def word(self, word: str) -> list[str]:
        w = word.lower()
        for cand in (w, w[:-1] if w.endswith("s") and len(w) > 3 else None, w + "s"):
            if cand and cand in self.by_word:
                return list(self.by_word[cand])
        return []

    def fuzzy(self, text: str) -> list[str]:
        t = text.lower()
        best = difflib.get_close_matches(t, list(self.by_lower), n=1, cutoff=FUZZY_CUTOFF)
        if best:
            return [self.by_lower[best[0]]]
        if " " in t:
            return []
        best = difflib.get_close_matches(t, list(self.by_word), n=1, cutoff=FUZZY_CUTOFF)
        return list(self.by_word[best[0]]) if best else []

    def match_one(self, text: str) -> tuple[list[str], str]:
        """(labels, how) for one term; ([], "") when nothing fits."""
        if text.lower() in self.by_lower:
            return [self.by_lower[text.lower()]], "exact"
        if " " not in text.strip():
            hit = self.word(text)
            if hit:
                return hit, "word"
        hit = self.fuzzy(text)
        return (hit, "fuzzy") if hit else ([], "")


def tokens_of(text: str) -> list[str]:
    """Shell-like terms of a query (a stray quote: plain whitespace split)."""
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: plain whitespace split
        return text.split()


def parse_query(text: str, labels: list[str]) -> ParsedQuery:
    """Understand ``text`` as a combination of ``labels`` (see the module docstring)."""
    matcher = LabelMatcher(labels)
    out = ParsedQuery(text)
    tokens = tokens_of(text)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        negative = tok.startswith("-") and len(tok) > 1
        if negative:
            _add(out, matcher, tok[1:], True)
            i += 1
            continue
        j = _longest_phrase(matcher, tokens, i)
        if j > i + 1:
            out.terms.append(Term(" ".join(tokens[i:j]), [matcher.by_lower[" ".join(tokens[i:j]).lower()]], "exact"))
            i = j
            continue
        if tok.lower() not in STOPWORDS or tok.lower() in matcher.by_lower:
            _add(out, matcher, tok, False)
        i += 1
    return out


def _longest_phrase(matcher: LabelMatcher, tokens: list[str], i: int) -> int:
    """End (exclusive) of the longest run of plain tokens from ``i`` that is a label."""
    for j in range(min(len(tokens), i + MAX_PHRASE), i + 1, -1):
        part = tokens[i:j]
        if any(t.startswith("-") for t in part):
            continue
        if " ".join(part).lower() in matcher.by_lower:
            return j
    return i + 1


def _add(out: ParsedQuery, matcher: LabelMatcher, text: str, negative: bool) -> None:
    labels, how = matcher.match_one(text)
    if labels:
        out.terms.append(Term(text, labels, how, negative))
    else:
        out.unmatched.append(("-" if negative else "") + text)
