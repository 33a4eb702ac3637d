"""The parts the HTML reports share: the page style and the self-check script.

The evaluation report (``mlspec runs show --html``) and the drift report (``mlspec monitor
--html``) are self-contained pages checked the same way in headless Chromium: the script marks
``body[data-report-status]`` and the title once every plot image has decoded, or names the ones
that did not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

PAGE_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1300px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f5f5f5}
.muted{color:#777;font-size:.85rem}#summary td{text-align:left}
.plots{display:flex;flex-wrap:wrap;gap:1rem}
figure.plot{margin:0;border:1px solid #eee;padding:.5rem;background:#fff}
figure.plot img{display:block;max-width:100%;height:auto}
figcaption{font-size:.8rem;color:#555;margin-top:.3rem}
"""

_SELF_CHECK = """
(function () {
  var ids = %(ids)s;
  var errors = [];
  window.addEventListener("error", function (e) { errors.push(String(e.message)); });
  window.addEventListener("load", function () {
    var bad = ids.filter(function (id) {
      var fig = document.getElementById(id);
      var img = fig && fig.querySelector("img");
      return !(img && img.complete && img.naturalWidth > 0 && img.naturalHeight > 0);
    });
    var ok = bad.length === 0 && errors.length === 0;
    document.body.setAttribute("data-report-status", ok ? "ok" : "error");
    document.body.setAttribute("data-plots-loaded", String(ids.length - bad.length));
    if (ok) {
      document.title = "%(label)s OK: " + %(name)s;
    } else {
      document.title = "%(label)s ERROR: " + bad.concat(errors).join(", ");
      console.error("%(label)s: plots not loaded: " + bad.join(", ") + " "
                    + errors.join("; "));
    }
  });
})();
"""


def self_check_script(ids: Sequence[str], label: str, name: str) -> str:
    """The ``<script>`` body: ``label`` starts the title ("<label> OK: <name>")."""
    return _SELF_CHECK % {"ids": json.dumps(list(ids)), "label": label, "name": json.dumps(name)}
