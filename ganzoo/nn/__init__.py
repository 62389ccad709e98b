"""Network pieces shared by several plugins (imports torch; used by model code, never at discovery).

    from ganzoo.nn import DCGANGenerator, DCGANDiscriminator, normal_init_
    from ganzoo.nn import make_generator, make_discriminator, translation_init_

- `DCGANGenerator`, `DCGANDiscriminator`: the all-convolutional DCGAN pair for any power-of-two image
  size (used by dcgan, cgan, wgan and wgan_gp).
- `normal_init_`: the DCGAN weight initialisation N(0, std).
- `MinibatchStdDev`, `minibatch_stddev`: the minibatch standard-deviation channel of Karras et al.
  (2018), an option of `DCGANDiscriminator` (`mbstd_group`).
- `norm2d`: a 2-D normalisation layer by name (batch, layer, instance, none).
- The image-to-image translation networks of the CycleGAN/pix2pix reference (used by cyclegan and
  pix2pix), key for key as the reference saves them: `ResnetGenerator`, `UnetGenerator`,
  `NLayerDiscriminator` (PatchGAN), `PixelDiscriminator`; `make_generator`/`make_discriminator` by
  name, `size_problem` (what cannot run), `run_padded` (any input size); `translation_norm`,
  `translation_init_` (the reference's normalisation choices and initialisation);
  `ganzoo.nn.translation_weights` reads the reference's saved generators.
"""

from ganzoo.nn.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_depth, stage_widths
from ganzoo.nn.init import TRANSLATION_INITS, normal_init_, translation_init_
from ganzoo.nn.minibatch_std import MinibatchStdDev, minibatch_stddev
from ganzoo.nn.norm import NORMS, TRANSLATION_NORMS, norm2d, translation_conv_bias, translation_norm
from ganzoo.nn.patchgan import NLayerDiscriminator, PixelDiscriminator, patch_output_sizes
from ganzoo.nn.resnet_generator import ResidualBlock, ResnetGenerator
from ganzoo.nn.translation import (
    DISCRIMINATORS,
    GENERATORS,
    make_discriminator,
    make_generator,
    run_padded,
    size_multiple,
    size_problem,
)
from ganzoo.nn.unet import UnetBlock, UnetGenerator

__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "NORMS",
    "TRANSLATION_INITS",
    "TRANSLATION_NORMS",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MinibatchStdDev",
    "NLayerDiscriminator",
    "PixelDiscriminator",
    "ResidualBlock",
    "ResnetGenerator",
    "UnetBlock",
    "UnetGenerator",
    "dcgan_depth",
    "make_discriminator",
    "make_generator",
    "minibatch_stddev",
    "norm2d",
    "normal_init_",
    "patch_output_sizes",
    "run_padded",
    "size_multiple",
    "size_problem",
    "stage_widths",
    "translation_conv_bias",
    "translation_init_",
    "translation_norm",
]
