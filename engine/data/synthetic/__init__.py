"""Seeded synthetic worlds (SYNTHETIC: not CLIP) and the bundled demo's writer."""
