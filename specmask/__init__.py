"""specmask: the spectral-masking CNN-GAN on the inverse model's backbone (train, enhance offline or streaming)."""
