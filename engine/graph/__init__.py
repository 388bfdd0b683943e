"""The knowledge graph, the split, the homogeneous training view and reconnection of unseen images."""
