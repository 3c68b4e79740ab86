"""The syllable tokenizer rules, in a module that needs spaCy only.

Training configs name `vndiplo.syllable_tokenizer.v1` in `[initialize.before_init]`;
`vndiplo package` ships this file with the model (`spacy package --code`), so
the packaged pipeline loads without vndiplo installed.
"""

from spacy.util import compile_prefix_regex, compile_suffix_regex, registry

DASHES = r"[-–—]"


def use_syllable_rules(nlp):
    """Syllable tokens for news text: no abbreviation exceptions, dashes and full stops split off word edges.

    spaCy keeps `Á.` as one token, an abbreviation (so `Đông Nam Á.` would
    lose its entity edge), and a trailing dash stays glued (`Community-`).
    The rules are stored with the tokenizer, so a saved pipeline keeps them.
    """
    nlp.tokenizer.rules = {}
    nlp.tokenizer.prefix_search = compile_prefix_regex(list(nlp.Defaults.prefixes) + [DASHES]).search
    nlp.tokenizer.suffix_search = compile_suffix_regex(list(nlp.Defaults.suffixes) + [DASHES, r"\."]).search
    return nlp


@registry.callbacks("vndiplo.syllable_tokenizer.v1")
def syllable_tokenizer_callback():
    """`[initialize.before_init]` hook of the training configs."""
    return use_syllable_rules
