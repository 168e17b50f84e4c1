"""The rule language: a query is lexed (``lexer``) and parsed (``query``) into a tree
(``tree``), compiled into evaluators (``evaluators``) and run against an entry as the matcher
reads it (``view``, ``matcher``), on text folded for case and accents (``fold``). Pure: no I/O."""
