# The two commands of the README:
#   make all   creates .venv, then ingest → dataset → train → evaluate on the committed gold
#   make test  creates .venv, then runs the whole test suite (Doccano integration tests included)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: all install ingest test clean

all: install ingest

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint constraints.txt --editable ".[test,baselines]"
	touch $(STAMP)

install: $(STAMP)

ingest: install
	$(BIN)/vndiplo ingest seeds/ --out corpus/docs.jsonl
	$(BIN)/vndiplo ingest corpus/extra-corpus/wiki corpus/extra-corpus/vtb --out corpus/extra.jsonl

test: install
	$(BIN)/python -m pytest -ra

clean:
	rm -rf training/ corpus/dataset corpus/*.spacy
