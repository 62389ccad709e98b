"""ganzoo plugin: neural style transfer (Gatys optimisation, Johnson feed-forward)."""
