"""Network pieces shared by several plugins (imports torch; used by model code, never at discovery).

    from ganzoo.nn import DCGANGenerator, DCGANDiscriminator, normal_init_

- `DCGANGenerator`, `DCGANDiscriminator`: the all-convolutional DCGAN pair for any power-of-two image
  size (used by dcgan, cgan, wgan and wgan_gp).
- `normal_init_`: the DCGAN weight initialisation N(0, std).
- `norm2d`: a 2-D normalisation layer by name (batch, layer, instance, none).
"""

from ganzoo.nn.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_depth, stage_widths
from ganzoo.nn.init import normal_init_
from ganzoo.nn.norm import NORMS, norm2d

__all__ = ["NORMS", "DCGANDiscriminator", "DCGANGenerator", "dcgan_depth", "norm2d", "normal_init_", "stage_widths"]
