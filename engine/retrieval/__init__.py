"""What the embeddings are for: text and label search, similar images, hero images,
group recommendations and a label-error queue, in CLIP space and in the learned
space of a saved run. UI-free; the CLI and the app reach it through engine.api.

* ``index``       -- exact blockwise top-k (torch.mm), the one search primitive
* ``space``       -- an embedding space: image rows + label vectors (CLIP or learned)
* ``query``       -- a query string -> known labels (exact, word, fuzzy; ``-term`` subtracts)
* ``search``      -- text -> images, image -> similar images
* ``hero``        -- keyword -> best images with maximal-marginal-relevance diversity
* ``recommend``   -- a group of images (e.g. a listing) -> the closest other groups
* ``suspects``    -- likely missing / wrong tags from out-of-fold scores
* ``corrections`` -- the corrections CSV (atomic append; applied at load time)
* ``quality``     -- nDCG@10, recall@10, MRR, precision@10 and suspect precision
"""
