"""ganzoo plugin: pix2pix with the reference numerics and official pretrained generators."""
