"""Tiny networks for the specmask tests (real 512x512 contract) and a two-step run of the real training loop."""

from inverse.config import BackboneConfig
from specmask.config import DiscriminatorConfig, GeneratorConfig, LossConfig
from specmask.train import MaskTrainConfig, train

TINY_BACKBONE = BackboneConfig(widths=(4, 8, 8, 8), freq_embedding_dim=8, time_embedding_dim=4, position_channels=4,
                               latent_dim=16)
TINY_GENERATOR = GeneratorConfig(decoder_width=8, subpixel_channels=8, mask_max=2.0)
TINY_DISCRIMINATOR = DiscriminatorConfig(widths=(4, 8))
TINY_TRAIN = MaskTrainConfig(epochs=1, examples_per_epoch=4, val_examples=2, batch_size=2, adversarial_start=0,
                             num_workers=0)


def train_tiny(out, backbone, **changes):
    """Two steps of the real training loop on tiny networks (``changes`` override MaskTrainConfig fields)."""
    config = MaskTrainConfig(**{**TINY_TRAIN.__dict__, **changes})
    return train(out, backbone=backbone, generator_config=TINY_GENERATOR, discriminator_config=TINY_DISCRIMINATOR,
                 losses=LossConfig(), config=config, device="cpu", progress=False)
