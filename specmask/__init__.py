"""specmask: the spectral-masking CNN-GAN on the shared backbone (not built yet; see the README)."""
