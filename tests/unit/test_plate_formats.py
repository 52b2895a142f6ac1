"""Format packs and the format prior (alpr_edge.plates), table-driven: region inference, near-tie breaking,
confident characters never rewritten, and no pack rewriting a valid plate of another pack."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from alpr_edge.config import EdgeConfig
from alpr_edge.ocr.base import decode_slots
from alpr_edge.plates import UNKNOWN, FormatPrior, PlateFormatSettings, compile_layout, slots_from_scores
from alpr_edge.reading.voting import vote
from alpr_edge.types import OcrResult

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
US, BR, EU = 2.0, 3.1, 4.7  # plate box width / height

# One valid plate per built-in pack.
SAMPLES = {
    "br": "ABC1D23", "us": "ABC1234", "us-ca": "7ABC123", "us-tx": "AB1C234", "us-fl": "ABCD12",
    "us-ny": "ABC1234", "us-il": "AB12345", "us-nj": "A12BCD", "us-ma": "1AB234", "us-mi": "1ABC23",
    "us-pa": "ABC1234", "us-oh": "ABC1234", "us-ga": "ABC1234", "us-nc": "ABC1234", "us-va": "ABC123",
    "us-wa": "123ABC", "us-az": "ABC123", "us-mo": "AB1C2D",
    "hr": "ZG1234AB", "ch": "ZH123456", "pl": "WX12345", "cz": "1A23456", "fr": "AB123CD", "it": "AB123CD",
    "es": "1234BCD", "nl": "12BDF3", "be": "1ABC123", "gb": "AB12CDE", "pt": "AB12CD", "sk": "BA123AB",
    "se": "ABC12D", "dk": "AB12345", "no": "AB12345", "hu": "ABC123", "ro": "B123ABC", "rs": "BG123AB",
    "de": "BOO1234", "at": "W12345A", "fi": "ABC123", "ie": "191D12345", "vn": "34A36837",
}
REQUIRED = {"de", "fr", "it", "es", "nl", "be", "pl", "cz", "hr", "rs", "gb", "pt", "at", "ch",
            "us", "us-ca", "us-tx", "us-fl", "us-ny", "br"}
# A near-tie partner of the other kind (letter <-> digit) for every character: the swap most likely to
# turn one country's layout into another's.
PARTNER = dict(zip("O0I1B8S5Z2A4G6T7D", "0O1I8B5S2Z4A6G7T0", strict=True))


def partner(ch: str) -> str:
    return PARTNER.get(ch, "8" if ch.isalpha() else "B")


def table(text: str, top: float = 0.95, unsure: dict[int, tuple[str, float, float]] | None = None,
          slots: int = 10) -> np.ndarray:
    """A slot table reading ``text`` with probability ``top`` per character (rest on one other character);
    ``unsure`` sets position -> (alternative, p of the read character, p of the alternative)."""
    probs = np.full((slots, len(ALPHABET)), 1e-4)
    for i in range(slots):
        if i >= len(text):
            probs[i, ALPHABET.index("_")] = 1.0
            continue
        alt, p, q = (unsure or {}).get(i, (partner(text[i]), top, 1.0 - top))
        probs[i, ALPHABET.index(text[i])], probs[i, ALPHABET.index(alt)] = p, q
    return probs / probs.sum(axis=1, keepdims=True)


def read_table(prior: FormatPrior, probs: np.ndarray, aspect: float | None) -> OcrResult:
    return prior.apply_to_table(probs, decode_slots(probs, ALPHABET, "_", 5), ALPHABET, "_", aspect)


@pytest.fixture(scope="module")
def prior() -> FormatPrior:
    return FormatPrior()


@pytest.mark.parametrize(("layout", "prefixes", "text", "ok"), [
    ("LLLDDDD", (), "ABC1234", True), ("LLLDDDD", (), "AB01234", False), ("A{2,8}", (), "A1", True),
    ("L{1,3}L{1,2}D{1,4}", (), "MAB1234", True), ("LL-DD", (), "AB-12", True),
    ("[A-NP-Z]{3}DDDD", (), "AOC1234", False), ("PD{1,6}", ("ZH", "GE"), "GE12", True),
    ("PD{1,6}", ("ZH", "GE"), "AB12", False), ("D{1,4}L{2,3}(DD|2[AB])", (), "123AB2A", True),
    ("LLD[EH]?", (), "AB1H", True), ("LLD[EH]?", (), "AB1X", False),
])
def test_compile_layout(layout: str, prefixes: tuple[str, ...], text: str, ok: bool) -> None:
    assert bool(compile_layout(layout, prefixes).fullmatch(text)) is ok


def test_builtin_packs_cover_the_required_regions(prior: FormatPrior) -> None:
    ids = {p.id for p in prior.packs}
    assert ids >= REQUIRED
    assert ids == set(SAMPLES), "every pack has a sample plate below"


@pytest.mark.parametrize("pack_id", sorted(SAMPLES))
def test_each_sample_fits_its_own_pack(prior: FormatPrior, pack_id: str) -> None:
    assert pack_id in {p.id for p in prior.matching(SAMPLES[pack_id])}


@pytest.mark.parametrize("pack_id", sorted(SAMPLES))
def test_no_pack_rewrites_a_valid_plate_of_another_pack(pack_id: str) -> None:
    """Plates of every other pack are left exactly as read: unsure ones (every character a near-tie with a
    letter/digit partner) with the prior on auto, or preferring ``pack_id`` when their plate shape is not
    that pack's; confident ones even when ``ocr.region`` prefers ``pack_id``."""
    preferring, auto = FormatPrior(region=pack_id), FormatPrior()
    shapes = {p.id: p.aspect for p in auto.packs}
    preferred = next(p for p in auto.packs if p.id == pack_id)
    fit_limit = math.log1p(auto.settings.aspect_tolerance)
    for other, text in SAMPLES.items():
        if other == pack_id:
            continue
        shape = shapes[other] or EU
        assert read_table(preferring, table(text), shape).text == text, (other, text)
        unsure = table(text, unsure={i: (partner(c), 0.6, 0.35) for i, c in enumerate(text)})
        result = read_table(auto, unsure, shape)
        assert result.text == text, (other, text)
        assert result.region in {p.id for p in auto.fitting(text, shape)}, (other, text, result.region)
        if preferred.aspect_error(shape) > fit_limit:  # not the preferred pack's plate shape
            assert read_table(preferring, unsure, shape).text == text, (other, text)


@pytest.mark.parametrize(("name", "text", "unsure", "aspect", "expected", "region"), [
    ("BR: unsure 0 in a letter slot becomes O", "AB01204", {2: ("O", 0.55, 0.4)}, BR, "ABO1204", "br"),
    ("BR Mercosul: unsure 8 in a letter slot", "RIO2A8B", {6: ("3", 0.6, 0.35)}, BR, "RIO2A83", "br"),
    ("BR: a valid old plate stays old", "RIO2418", {4: ("A", 0.55, 0.4)}, BR, "RIO2418", "br"),
    ("BR: a confident 0 is never changed", "AB01204", {2: ("O", 0.9, 0.09)}, BR, "AB01204", UNKNOWN),
    ("BR: a far alternative is no near-tie", "AB01204", {2: ("O", 0.75, 0.1)}, BR, "AB01204", UNKNOWN),
    ("US shape: AB01204 is an Illinois plate", "AB01204", {2: ("O", 0.55, 0.4)}, US, "AB01204", "us-il"),
    ("US: unsure O in a digit slot becomes 0", "7ABC1O3", {5: ("0", 0.6, 0.35)}, US, "7ABC103", "us-ca"),
    ("US: a confident O is never changed", "7ABC1O3", {5: ("0", 0.9, 0.09)}, US, "7ABC1O3", UNKNOWN),
    ("IT/FR: an O in a letter slot stays (no O -> 0)", "AB123OD", {5: ("0", 0.55, 0.4)}, EU, "AB123OD", "sk"),
    ("IT/FR: a confident O stays", "AB123OD", {5: ("0", 0.97, 0.02)}, EU, "AB123OD", "sk"),
    ("IT: unsure 8 in a letter slot", "AB123C8", {6: ("D", 0.6, 0.3)}, EU, "AB123CD", "fr"),
    ("DE: MOO1234 stays, unsure Os and all", "MOO1234", {1: ("0", 0.6, 0.35), 2: ("0", 0.6, 0.35)}, EU,
     "MOO1234", "de"),
    ("DE: MOO1234 on a US-shaped plate is no US plate", "MOO1234", {1: ("0", 0.6, 0.35)}, US, "MOO1234",
     UNKNOWN),
    ("GB: unsure 0 in a letter slot", "AB12CD0", {6: ("O", 0.55, 0.4)}, EU, "AB12CDO", "gb"),
    ("a vanity plate fits nothing: unknown", "LUV2SK8", {}, US, "LUV2SK8", UNKNOWN),
    ("MO: unsure I in a serial letter slot", "AG6VIW", {4: ("1", 0.55, 0.4)}, US, "AG6V1W", "us-mo"),
    ("MO: unsure O in a digit slot", "DKOH7Z", {2: ("0", 0.6, 0.35)}, US, "DK0H7Z", "us-mo"),
    ("MO: a confident I stays (no pack fits)", "AG6VIW", {4: ("1", 0.9, 0.09)}, US, "AG6VIW", UNKNOWN),
])
def test_near_ties_in_the_slot_table(prior: FormatPrior, name: str, text: str, unsure: dict, aspect: float,
                                     expected: str, region: str) -> None:
    result = read_table(prior, table(text, unsure=unsure), aspect)
    assert (result.text, result.region) == (expected, region), name
    assert result.candidates[0].text == expected
    if expected != text:
        assert len(result.char_confidences) == len(expected)
        assert result.confidence < decode_slots(table(text, unsure=unsure), ALPHABET, "_", 5).confidence


@pytest.mark.parametrize(("region", "text", "unsure", "aspect", "expected", "label"), [
    ("br", "ABC1234", {}, None, "ABC1234", "br"),
    ("us", "ABC1234", {}, None, "ABC1234", "us"),
    ("auto", "ABC1234", {}, US, "ABC1234", "us"),
    ("auto", "ABC1234", {}, BR, "ABC1234", "br"),
    ("auto", "ABC1234", {}, EU, "ABC1234", "de"),
    ("us-ny", "ABC1234", {}, US, "ABC1234", "us-ny"),
    # preferring a pack lets it win a near-tie over a read valid elsewhere
    ("br", "RIO2418", {4: ("A", 0.55, 0.4)}, BR, "RIO2418", "br"),
    ("pl", "WX1234B", {6: ("8", 0.55, 0.4)}, EU, "WX1234B", "pl"),
    ("us-il", "AB1234B", {6: ("8", 0.55, 0.4)}, US, "AB12348", "us-il"),
    ("none", "7ABC1O3", {5: ("0", 0.6, 0.35)}, US, "7ABC1O3", UNKNOWN),  # labels, never changes
    ("none", "7ABC123", {}, US, "7ABC123", "us-ca"),
])
def test_ocr_region_option(region: str, text: str, unsure: dict, aspect: float | None, expected: str,
                           label: str) -> None:
    result = read_table(FormatPrior(region=region), table(text, unsure=unsure), aspect)
    assert (result.text, result.region) == (expected, label)


@pytest.mark.parametrize(("texts", "aspect", "expected", "region"), [
    (["AB01204", "AB01204", "ABO1204"], BR, "ABO1204", "br"),  # the reads disagree: near-tie, BR layout
    (["AB01204", "AB01204", "AB01204"], BR, "AB01204", UNKNOWN),  # they agree: nothing to break
    (["7ABC123", "7ABC123"], US, "7ABC123", "us-ca"),
    (["AB123CD", "AB123C0"], EU, "AB123CD", "fr"),
])
def test_track_votes_use_the_same_prior(prior: FormatPrior, texts: list[str], aspect: float, expected: str,
                                        region: str) -> None:
    voted = vote([OcrResult(t, 0.9, (0.9,) * len(t)) for t in texts])
    result = prior.resolve(slots_from_scores(voted.char_scores), aspect)
    assert (result.text, result.region) == (expected, region)


def test_region_of_is_none_when_no_pack_fits(prior: FormatPrior) -> None:
    assert prior.region_of("7ABC123", US) == "us-ca"
    assert prior.region_of("LUV2SK8") is None and prior.label("LUV2SK8") == UNKNOWN


def test_configured_packs_add_replace_and_switch_off() -> None:
    settings = PlateFormatSettings(packs={
        "xx": {"country": "XX", "patterns": ["LLLL"]},
        "de": {"country": "DE", "enabled": False, "patterns": ["L"]},
    })
    prior = FormatPrior(settings)
    ids = {p.id for p in prior.packs}
    assert "xx" in ids and "de" not in ids and "br" in ids
    assert prior.label("ABCD", EU) == "xx"
    only = FormatPrior(PlateFormatSettings(builtin_packs=False, packs={"xx": {"country": "XX", "patterns": ["LLLL"]}}))
    assert [p.id for p in only.packs] == ["xx"]


def test_unknown_region_and_old_keys_fail_clearly() -> None:
    with pytest.raises(ValueError, match="names no plate format pack"):
        FormatPrior(region="atlantis")
    with pytest.raises(ValidationError, match="names no plate format pack"):
        EdgeConfig(ocr={"region": "atlantis"})
    with pytest.raises(ValidationError, match=r"plate_formats\.regions was removed; use plate_formats\.packs"):
        PlateFormatSettings(regions={"us-tx": {"country": "US", "patterns": ["LLLDDDD"]}})
    with pytest.raises(ValidationError, match=r"plate_formats\.priority was removed; use ocr\.region"):
        EdgeConfig(plate_formats={"priority": ["us-fl"]})
    assert EdgeConfig(ocr={"region": "eu"}).ocr.region == "eu"


@pytest.mark.parametrize(("name", "text", "unsure", "aspect", "expected", "region"), [
    ("FR in a too-tall box: named by the looser fit", "AB123CD", {}, 3.3, "AB123CD", "fr"),
    ("ES in a too-tall box: named by the looser fit", "1234BCD", {}, 3.2, "1234BCD", "es"),
    ("the looser fit never changes a character", "AB123C0", {6: ("D", 0.6, 0.35)}, 3.3, "AB123C0", UNKNOWN),
    ("the strict fit still corrects", "AB123C0", {6: ("D", 0.6, 0.35)}, 4.5, "AB123CD", "fr"),
    ("beyond the looser fit: unknown", "AB123CD", {}, 2.6, "AB123CD", UNKNOWN),
])
def test_the_looser_shape_fit_only_names_the_region(prior: FormatPrior, name: str, text: str, unsure: dict,
                                                    aspect: float, expected: str, region: str) -> None:
    res = read_table(prior, table(text, unsure=unsure), aspect)
    assert (res.text, res.region) == (expected, region), name


def test_the_label_fit_cannot_be_stricter_than_the_correction_fit() -> None:
    with pytest.raises(ValidationError, match="label_aspect_tolerance"):
        PlateFormatSettings(aspect_tolerance=0.5, label_aspect_tolerance=0.3)


def test_a_german_plate_in_a_brazilian_shaped_box_is_not_made_brazilian(prior: FormatPrior) -> None:
    # SSR IW 33 fits Germany (loosely at 3.2), and SSR1W33 would fit Mercosul (strictly at 3.2): kept as read.
    res = read_table(prior, table("SSRIW33", unsure={3: ("1", 0.6, 0.35)}), 3.2)
    assert res.text == "SSRIW33" and {p.id: p.group for p in prior.packs}[res.region] == "eu"
