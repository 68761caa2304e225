"""Upload checks of the web app: kind, size, length and silence, each one line naming the user's file."""

import numpy as np
import pytest
import soundfile

from synth.errors import InputError
from webapp.uploads import audio_seconds, check_length, upload_kind, user_message


def test_kinds_by_suffix(tmp_path):
    for name, kind in (("a.wav", "audio"), ("b.FLAC", "audio"), ("c.mp3", "audio"), ("d.png", "spectrogram"),
                       ("e.npy", "spectrogram")):
        (tmp_path / name).write_bytes(b"x")
        assert upload_kind(tmp_path / name) == kind


def test_unknown_kind_empty_missing_and_too_large(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match=r"^notes.txt: expected a sound .* or a 512x512 spectrogram .*'.txt'"):
        upload_kind(tmp_path / "notes.txt")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(InputError, match="empty.wav: the file is empty"):
        upload_kind(tmp_path / "empty.wav")
    with pytest.raises(InputError, match="gone.wav: the upload is missing"):
        upload_kind(tmp_path / "gone.wav")
    with pytest.raises(InputError, match="no file"):
        upload_kind(None)
    (tmp_path / "big.wav").write_bytes(b"x" * 2_000_001)
    with pytest.raises(InputError, match=r"big.wav: 2.0 MB is larger than this server's upload limit of 1.5 MB"):
        upload_kind(tmp_path / "big.wav", max_mb=1.5)
    (tmp_path / "spec.png").write_bytes(b"x")
    with pytest.raises(InputError, match=r"spec.png: expected a sound \(.wav"):  # the Enhance tab takes audio only
        upload_kind(tmp_path / "spec.png", allowed=("audio",))


def test_length_and_non_audio(tmp_path):
    soundfile.write(tmp_path / "long.wav", np.zeros(8000 * 12, np.float32), 8000)
    assert audio_seconds(tmp_path / "long.wav") == pytest.approx(12.0)
    assert check_length(tmp_path / "long.wav", max_seconds=12.0) == pytest.approx(12.0)
    with pytest.raises(InputError, match=r"long.wav: 0 min 12 s of audio is longer than this tab .* \(0 min 10 s\)"):
        check_length(tmp_path / "long.wav", max_seconds=10.0)
    # a 2-hour file: 115 MB even at 8 kHz; an 8 Hz WAV of 2 hours has the same header arithmetic
    soundfile.write(tmp_path / "two_hours.wav", np.zeros(8 * 7200, np.int16), 8, subtype="PCM_16")
    with pytest.raises(InputError, match=r"two_hours.wav: 2 h 00 min of audio is longer .* \(10 min 00 s\)"):
        check_length(tmp_path / "two_hours.wav")
    (tmp_path / "text.wav").write_text("this is not audio")
    with pytest.raises(InputError, match=r"^text.wav: expected an audio file, could not decode it"):
        audio_seconds(tmp_path / "text.wav")


def test_messages_name_the_file_not_the_server_path(tmp_path):
    path = tmp_path / "upload" / "kick.wav"
    assert user_message(InputError(f"{path}: bad\nthing"), path) == "kick.wav: bad thing"
