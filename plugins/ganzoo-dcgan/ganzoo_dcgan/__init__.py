"""ganzoo plugin: DCGAN (Radford et al. 2015)."""
