"""ganzoo plugin: CycleGAN with the reference numerics and official pretrained weights."""
