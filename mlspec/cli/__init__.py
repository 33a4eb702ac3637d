"""The ``mlspec`` command: one small module per verb, each mapping arguments onto one operation."""
