"""GraphSAGE: model, loss, sampling and the seeded training loop."""
