"""The syllable tokenizer rules, in a module that needs spaCy only.

Training configs name `vndiplo.syllable_tokenizer.v1` in `[initialize.before_init]`;
`vndiplo package` ships this file with the model (`spacy package --code`), so
the packaged pipeline loads without vndiplo installed.
"""

from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex, registry

DASHES = r"[-–—]"
# A comma or semicolon glued to a word (`4/02),Shinzou`) splits, unless it sits
# between two digits (`1,5 triệu`).
GLUED_SEPARATORS = r"[,;](?!\d)|(?<!\d)[,;]"
# A full stop glued between a word and a capital or an accented letter (`TP.HCM`, `tp.Hà`) splits: the place
# after it is its own name.
GLUED_FULL_STOP = r"(?<=[^\W\d])\.(?=[A-ZĐÀ-Ỹ])"
# A closing bracket glued to a dash splits from it, and the dash from what follows (`(DC-Maryland)-Chủ tịch`):
# the bracket ends the name inside it.
GLUED_CLOSING_BRACKET = r"[)\]](?=[-–—])|(?<=[)\]])[-–—]"
# Official Vietnamese texts end with `./.`: a slash closing a token splits off (`năm 1973./.`).
TRAILING_SLASH = r"/"


def use_syllable_rules(nlp):
    """Syllable tokens for news text: no abbreviation exceptions; dashes, full stops and glued commas split off.

    spaCy keeps `Á.` as one token, an abbreviation (so `Đông Nam Á.` would
    lose its entity edge), and a trailing dash stays glued (`Community-`).
    The rules are stored with the tokenizer, so a saved pipeline keeps them.
    """
    nlp.tokenizer.rules = {}
    nlp.tokenizer.prefix_search = compile_prefix_regex(list(nlp.Defaults.prefixes) + [DASHES]).search
    nlp.tokenizer.suffix_search = compile_suffix_regex(list(nlp.Defaults.suffixes) + [DASHES, r"\.", TRAILING_SLASH]).search
    nlp.tokenizer.infix_finditer = compile_infix_regex(list(nlp.Defaults.infixes) + [GLUED_SEPARATORS, GLUED_FULL_STOP, GLUED_CLOSING_BRACKET]).finditer
    return nlp


@registry.callbacks("vndiplo.syllable_tokenizer.v1")
def syllable_tokenizer_callback():
    """`[initialize.before_init]` hook of the training configs."""
    return use_syllable_rules
