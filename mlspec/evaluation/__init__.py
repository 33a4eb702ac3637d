"""Evaluation of a fitted model's predictions: metrics (computed by scikit-learn), bootstrap
intervals, slices, the decision threshold, and the HTML report.

Helpers of the ``evaluate`` stage (listed in its ``code_dependencies``) and of ``mlspec runs
show --html``. Every module imports numpy, pandas, scikit-learn and matplotlib inside its
functions, so importing this package stays cheap for the CLI.
"""
