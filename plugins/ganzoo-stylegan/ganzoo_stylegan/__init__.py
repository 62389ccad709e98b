"""ganzoo-stylegan: StyleGAN2-ADA (Karras et al. 2020) for ganzoo."""
