"""ganzoo plugin: class-conditional GAN (concatenation or projection discriminator)."""
