"""ganzoo plugin: WGAN with weight clipping and WGAN-GP."""
