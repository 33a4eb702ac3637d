"""Built-in stages. Each registers under the ``mlspec.stages`` entry-point group like a plugin.

Module imports stay cheap (no pandas/scikit-learn at import time): a fully cached rerun must not
pay for importing the ML stack.
"""
