"""inverse: spectrogram -> several different synth parameter sets that each sound like it."""
