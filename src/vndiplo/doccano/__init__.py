"""The Doccano round trip: push the corpus to a Doccano project, pull each annotator's spans back.

`client` talks to Doccano's API (doccano-client 1.1.1 for login and the plain
calls, the v1 REST API for the rest), `offsets` converts Doccano's UTF-16 offsets,
`push` creates the project and uploads documents and suggestions, `pull` exports,
checks and splits each annotator's work, and `server` runs Doccano itself.
Everything here is silent and raises :class:`VndiploError`.
"""
