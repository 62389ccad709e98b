"""ganzoo plugin: progressive growing of GANs (ProGAN)."""
