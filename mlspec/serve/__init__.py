"""Serving: one scoring pipeline over a registry bundle, for the REST server and the batch scorer.

Nothing here is imported at CLI start-up; each module imports its heavy libraries (pandas,
numpy, starlette, uvicorn) inside functions or is itself imported only by ``mlspec serve`` /
``mlspec score``.
"""
