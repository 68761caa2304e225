"""Sound classes: labelled WAV folders give every source a class and every mixture a cue (which class to keep);
a model trained on them takes the cue (``enhance --keep``), and a voice interferer then comes from another class."""

import numpy as np
import pytest
import soundfile
import torch

from specmask.config import GeneratorConfig
from specmask.data import MixtureDataset, SourcePool
from specmask.mixing import MixConfig
from synth.errors import InputError

RATE = 16000
TONES = {"speech": 440.0, "instrument": 1320.0}  # each folder's sounds: one sine, so a draw tells its class


def _peak_hz(x: torch.Tensor) -> float:
    spectrum = torch.fft.rfft(x).abs()
    spectrum[:40] = 0.0  # below ~10 Hz
    return int(spectrum.argmax()) * RATE / x.shape[-1]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("classes")
    t = np.arange(2 * RATE) / RATE
    for name, hz in TONES.items():
        (root / name).mkdir()
        soundfile.write(root / name / "a.wav", (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), RATE)
    return [f"{name}={root / name}" for name in TONES]


def test_labelled_folders_give_classes_and_the_cue_names_the_source_drawn(folders):
    pool = SourcePool(seed=1, wav_dirs=folders, external_share=1.0)
    assert pool.classes == ("synth", "speech", "instrument")
    sources, cues = pool.sources_with_cues(list(range(12)))
    for source, cue in zip(sources, cues.tolist()):
        hz = _peak_hz(source)
        assert cue == (2 if abs(hz - TONES["speech"]) < 5 else 3), (hz, cue)
    assert [pool.cue_of(i) for i in range(12)] == cues.tolist()
    assert set(cues.tolist()) == {2, 3}


def test_a_voice_interferer_comes_from_another_class_and_is_always_cued(folders):
    pool = SourcePool(seed=2, wav_dirs=folders, external_share=1.0)
    mix = MixConfig(interferers=("voice",), reverb_prob=0.0, eq_prob=0.0, snr_db=(0.0, 0.0))
    mixtures, cleans, cues = MixtureDataset(pool, mix, seed=3, start=0, count=8).__getitems__(range(8))
    for mixture, clean, cue in zip(mixtures, cleans, cues.tolist()):
        kept, removed = _peak_hz(clean), _peak_hz(mixture - clean)
        assert cue in (2, 3) and abs(kept - TONES[("speech", "instrument")[cue - 2]]) < 5
        assert abs(removed - kept) > 100, "the interferer is the other class's sound"


def test_noise_mixtures_are_cued_for_some_and_any_for_the_rest(folders):
    pool = SourcePool(seed=2, wav_dirs=folders, external_share=0.5)
    data = MixtureDataset(pool, MixConfig(interferers=("white", "pink")), seed=5, start=0, count=24)
    _, _, cues = data.__getitems__(range(24))
    assert 0 in cues.tolist() and any(c > 0 for c in cues.tolist())
    _, _, again = data.__getitems__([5, 3])
    assert again.tolist() == [cues[5], cues[3]]  # the cue is part of the example, whatever the batch


def test_folders_are_all_labelled_or_none_and_any_is_no_label(folders, tmp_path):
    plain = folders[0].split("=", 1)[1]
    with pytest.raises(InputError, match="label every folder"):
        SourcePool(seed=1, wav_dirs=[folders[0], plain])
    with pytest.raises(InputError, match="names no class"):
        SourcePool(seed=1, wav_dirs=[f"any={plain}"])
    assert SourcePool(seed=1, wav_dirs=[plain]).classes == ()


def test_the_cue_starts_neutral_and_then_changes_the_mask():
    from inverse.backbone import Backbone
    from specmask.generator import MaskGenerator
    from tests.specmask.tiny import TINY_BACKBONE

    torch.manual_seed(0)
    config = GeneratorConfig(decoder_width=8, subpixel_channels=8, mask_max=2.0, identity_init=False,
                             classes=("synth", "speech"))
    generator = MaskGenerator(Backbone(TINY_BACKBONE), config).eval()
    spec = torch.rand(2, 1, 512, 512)
    with torch.no_grad():
        neutral = generator(spec)
        assert torch.equal(generator(spec, torch.tensor([2, 1])), neutral)  # zero FiLM: no effect yet
        torch.nn.init.normal_(generator.decoder.film.weight, std=0.5)
        told = generator(spec, torch.tensor([2, 2]))
        assert not torch.allclose(told, generator(spec, torch.tensor([1, 1])))
        assert torch.equal(generator(spec, torch.tensor([0, 0])), generator(spec))
    assert config.cue("speech") == 2 and config.cue(None) == 0 and config.cue("any") == 0
    with pytest.raises(InputError, match="knows synth, speech"):
        config.cue("drums")
    with pytest.raises(InputError, match="takes no --keep"):
        GeneratorConfig().cue("speech")
    with pytest.raises(InputError, match="distinct"):
        GeneratorConfig(classes=("speech", "speech"))
    with pytest.raises(InputError, match="one cue per example"):
        generator(spec, torch.tensor([5, 0]))


def test_a_model_trained_on_labelled_folders_keeps_its_classes_and_takes_keep(folders, tmp_path, inverse_ckpt):
    from benchmarks.specmask_quality import CuedMethod, load_model_methods
    from specmask import checkpoint
    from specmask.enhance import enhance_audio
    from specmask.train import Sources, train
    from tests.specmask.tiny import TINY_DISCRIMINATOR, TINY_GENERATOR, TINY_TRAIN

    train(tmp_path / "run", backbone=inverse_ckpt, generator_config=TINY_GENERATOR,
          discriminator_config=TINY_DISCRIMINATOR, config=TINY_TRAIN, sources=Sources(wav_dirs=tuple(folders)),
          device="cpu", progress=False)
    generator, _ = checkpoint.load(tmp_path / "run" / "best")
    assert generator.config.classes == ("synth", "speech", "instrument")
    assert checkpoint.classes(tmp_path / "run" / "best") == generator.config.classes  # metadata only (web app)
    audio = torch.randn(1, 20000) * 0.1
    out = enhance_audio(generator, audio, keep="speech")
    assert out.shape == audio.shape and out.isfinite().all()
    with pytest.raises(InputError, match="knows synth, speech, instrument"):
        enhance_audio(generator, audio, keep="drums")
    rows, _ = load_model_methods("specmask", str(tmp_path / "run" / "best"))
    assert list(rows) == ["specmask", "specmask_any"] and isinstance(rows["specmask"], CuedMethod)
    assert rows["specmask"](audio[0].numpy(), "speech").shape == (20000,)


def test_a_run_can_start_from_a_trained_decoder_on_the_same_backbone(inverse_ckpt, mask_run):
    run, _ = mask_run
    from inverse import checkpoint as inverse_checkpoint
    from inverse.backbone import Backbone
    from specmask import checkpoint
    from specmask.generator import MaskGenerator
    from specmask.train import start_from
    from tests.specmask.tiny import TINY_BACKBONE, TINY_GENERATOR

    trained, _ = checkpoint.load(run / "best")
    backbone = inverse_checkpoint.load(inverse_ckpt)[0].backbone
    generator = MaskGenerator(backbone, GeneratorConfig(**{**TINY_GENERATOR.__dict__, "classes": ("synth", "x")}))
    start_from(generator, run / "best")
    theirs = trained.decoder.state_dict()
    for name, value in generator.decoder.state_dict().items():
        assert torch.equal(value, torch.zeros_like(value) if name.startswith("film.") else theirs[name]), name
    other = MaskGenerator(Backbone(TINY_BACKBONE), TINY_GENERATOR)  # fresh weights: another backbone
    with pytest.raises(InputError, match="its backbone is not --backbone's"):
        start_from(other, run / "best")
    start_from(other, run / "best", backbone_too=True)  # --finetune-backbone: its copy goes on from the checkpoint's
    for name, value in other.backbone.state_dict().items():
        assert torch.equal(value, trained.backbone.state_dict()[name]), name
