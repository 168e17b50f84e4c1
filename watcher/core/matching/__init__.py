"""The rule language: queries are parsed (``query``), compiled and evaluated against entries
(``matcher``), on text folded for case and accents (``fold``). Pure: no I/O."""
