import pytest

from vndiplo.dataset import blank_nlp


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("ở Đông Nam Á.", ["ở", "Đông", "Nam", "Á", "."]),  # no abbreviation exception keeps `Á.` whole
        ("tại TP.HCM", ["tại", "TP", ".", "HCM"]),
        ("Mỹ,Nga", ["Mỹ", ",", "Nga"]),
        ("1,5 triệu", ["1,5", "triệu"]),
        ("kể từ năm 1973./.", ["kể", "từ", "năm", "1973", ".", "/", "."]),  # the closing mark of official texts
        ("ngày 21/1/2022", ["ngày", "21/1/2022"]),
        ("(DC-Maryland)-Chủ tịch", ["(", "DC", "-", "Maryland", ")", "-", "Chủ", "tịch"]),
    ],
)
def test_syllable_rules_cut_news_text_where_entities_end(text, tokens):
    assert [token.text for token in blank_nlp()(text)] == tokens
