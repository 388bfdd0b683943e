"""Datasets: the Dataset record, loaders, attributes, embeddings files, synthetic worlds."""
