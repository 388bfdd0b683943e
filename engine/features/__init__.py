"""Node features: CLIP (open_clip) towers with a content-keyed cache, and the feature bundle."""
