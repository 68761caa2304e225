"""The page of a folder of several answers (``inverse predict a.wav b.wav --out DIR``: ``DIR/index.html``): every
link a path inside the folder whatever the names hold, every name shown as written."""

from html.parser import HTMLParser
from urllib.parse import unquote

from inverse.listening_page import answers_page


class Files(HTMLParser):
    """The ``src`` and ``href`` of a page, in order."""

    def __init__(self):
        super().__init__()
        self.names = []

    def handle_starttag(self, tag, attrs):
        self.names += [value for key, value in attrs if key in ("src", "href")]


def answer(source: str, hz: float, agrees: bool) -> dict:
    return {"target": {"source": source, "pitch_hz": 220.0},
            "candidates": [{"match": 0.41, "mss": 0.27, "pitch_hz": hz, "pitch_agrees": agrees}]}


def test_links_stay_in_the_folder_and_names_are_shown_as_written(tmp_path):
    answers = [("take #2", answer("take #2.wav", 221.0, True)), ("a&b <c>", answer("a&b <c>.wav", 330.0, False)),
               ("bad", {"source": "bad.wav", "error": "bad.wav: could not decode it <here>"})]
    page = answers_page(answers, ["take #2_melody.wav"])
    files = Files()
    files.feed(page)
    assert [unquote(name) for name in files.names] == [
        f"{folder}/{name}" for folder in ("take #2", "a&b <c>")
        for name in ("index.html", "target.wav", "rank01.wav", "rank01.patch.json")] + ["take #2_melody.wav"]
    assert all("#" not in name for name in files.names)  # "#2" would be read as a fragment of the page
    assert "take #2.wav" in page and "a&amp;b &lt;c&gt;.wav" in page and "could not decode it &lt;here&gt;" in page
    assert "220 Hz / 221 Hz" in page and '<span class="off">330 Hz!</span>' in page  # off the target's pitch: red
