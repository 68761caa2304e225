"""``webapp``: the local web app for sound designers (``inverse app`` / ``python -m webapp``).

Three tabs over the project's own API: **Match** (a sound or spectrogram in, playable candidate patches out:
:mod:`webapp.matching`), **Enhance** (the mask model on a noisy recording: :mod:`webapp.enhancing`) and
**Synth** (a small patch editor: :mod:`webapp.editor`). :mod:`webapp.uploads` checks every upload before any
work; :mod:`webapp.ui` lays the page out with gradio; :mod:`webapp.cli` starts the server.

Dependency direction: ``webapp -> synth, inverse, specmask``; nothing imports ``webapp`` except the lazy
``inverse app`` launcher.
"""
