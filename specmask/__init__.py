"""specmask: the spectral-masking CNN-GAN on the shared backbone (building blocks so far; see the README)."""
