"""vndiplo: named-entity recognition for Vietnamese diplomatic news.

`nlp = vndiplo.load()` returns the trained spaCy pipeline; `doc.ents` carry
the labels of the spec (PER, TITLE, ORG, GPE, LOC, EVENT, AGREEMENT, DATE).
"""

from .model import load

__all__ = ["load"]
__version__ = "0.1.0"
