"""Free-text queries through the CLIP text tower (when its weights are available).

The query's plain words form one phrase and every ``-term`` another; each goes
through the same prompt ensemble as the keywords (``ClipConfig.prompts``), and the
query vector is the phrase's vector minus the mean of the negative ones. Only in a
CLIP space whose image vectors come from that same model: a text-tower vector is
meaningless next to precomputed or synthetic image vectors, so that is refused.
"""

from __future__ import annotations

import numpy as np

from engine.core.errors import ConfigError
from engine.core.vectors import l2_normalize
from engine.retrieval.query import tokens_of


def split_terms(text: str) -> tuple[str, list[str]]:
    """(positive phrase, negative terms) of a query."""
    pos, neg = [], []
    for tok in tokens_of(text):
        (neg if tok.startswith("-") and len(tok) > 1 else pos).append(tok.lstrip("-") if tok.startswith("-") else tok)
    return " ".join(pos), neg


def text_tower_vector(text: str, clip, features) -> tuple[np.ndarray, list[str]]:
    """(query vector, one line per phrase embedded) for ``text`` with ``clip``'s text tower."""
    import torch

    from engine.features.clip.model import load_clip, model_spec

    spec = model_spec(clip)
    if features.source != spec.label:
        raise ConfigError(f"the image vectors come from '{features.source}', not from {spec.label}",
                          field="text-tower", hint="free text needs images embedded by the same CLIP model "
                                                   "(mmkg-tui embed); without it, queries use the known labels")
    pos, neg = split_terms(text)
    phrases = ([pos] if pos else []) + neg
    if not phrases:
        raise ConfigError("no query given", field="query", hint="e.g. 'a sunny kitchen'")
    loaded = load_clip(clip, spec)
    vecs = []
    with torch.inference_mode():
        for phrase in phrases:
            tok = loaded.tokenizer([t.format(phrase) for t in clip.prompts]).to(loaded.device)
            e = l2_normalize(loaded.model.encode_text(tok).float().cpu().numpy())
            vecs.append(l2_normalize(e.mean(axis=0)))
    q = vecs[0] if pos else np.zeros_like(vecs[0])
    if neg:
        q = q - np.mean(vecs[1 if pos else 0:], axis=0)
    described = ([f"'{pos}' (CLIP text tower)"] if pos else []) + [f"-'{n}' (CLIP text tower)" for n in neg]
    return l2_normalize(q), described
