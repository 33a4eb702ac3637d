"""Run filters and sort orders in MLflow's search syntax, compiled to SQL with bound parameters.

    metrics.roc_auc > 0.9 and params.model = lightgbm
    metrics.test.f1 >= 0.8 and (tags.team = 'fraud' or params.seed IN (1, 2)) and status = completed
    started >= '2026-11-26' and spec LIKE 'fraud%'

Keys: ``metrics.NAME`` (a metric logged under NAME, else the ``valid`` split's NAME from the
evaluate stage; ``metrics.valid.NAME`` / ``metrics.test.NAME`` pick a split), ``params.NAME``,
``tags.NAME``, and attributes (``status``, ``spec``, ``name``, ``run_id``, ``started``,
``finished``, ``duration``, ``sweep``, ``job``, ``objective``, ``objective_name``, ``git_commit``,
``source``, ``parent``; also as ``attributes.status`` like MLflow). Names with spaces or
operators go in backquotes: ``metrics.`my metric```. Operators ``= != < <= > >= LIKE ILIKE IN``
(``NOT LIKE``, ``NOT IN``), ``and``, ``or``, parentheses. Values are numbers, quoted strings or
bare words. A run without the key never matches (also for ``!=``), as in MLflow.

A hand-written tokenizer and recursive-descent parser (no eval); every error names the
position, what was expected, and the fix.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from mlspec.errors import Problem, TrackingError

# attribute -> (SQL expression over runs AS r, kind: text | number | time)
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "status": ("r.status", "text"),
    "spec": ("r.spec_name", "text"),
    "name": ("r.run_name", "text"),
    "run_id": ("r.run_id", "text"),
    "started": ("r.started_at", "time"),
    "finished": ("r.finished_at", "time"),
    "duration": ("(r.finished_at - r.started_at)", "number"),
    "sweep": ("r.sweep_dir", "text"),
    "job": ("r.job_num", "number"),
    "objective": ("r.objective", "number"),
    "objective_name": ("r.objective_name", "text"),
    "git_commit": ("r.git_commit", "text"),
    "source": ("r.source", "text"),
    "parent": ("r.parent_run_id", "text"),
}
ALIASES = {
    "experiment": "spec",
    "spec_name": "spec",
    "experiment_id": "spec",
    "run_name": "name",
    "id": "run_id",
    "run_uuid": "run_id",
    "start_time": "started",
    "started_at": "started",
    "end_time": "finished",
    "finished_at": "finished",
    "sweep_dir": "sweep",
    "job_num": "job",
    "commit": "git_commit",
    "parent_run_id": "parent",
}
ENTITY_PREFIXES = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attr",
    "attribute": "attr",
    "attr": "attr",
    "run": "attr",
}
SPLITS = ("valid", "test")
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "NOT LIKE", "IN", "NOT IN")
_STATUS_WORDS = {"finished": "completed", "scheduled": "running"}
FIX = (
    'write KEY OP VALUE joined by and/or, e.g. "metrics.roc_auc > 0.9 and params.model ='
    ' lightgbm"; keys: metrics.NAME, params.NAME, tags.NAME or an attribute ('
    + ", ".join(ATTRIBUTES)
    + "); operators: = != < <= > >= LIKE ILIKE IN"
)

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
      | (?P<open>['"].*)
      | (?P<bq>`[^`]*`)
      | (?P<op><=|>=|!=|<>|==|=|<|>)
      | (?P<punct>[(),])
      | (?P<bare>[^\s()'",<>=!`]+)
      | (?P<bad>.)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # str | bq | op | punct | bare | end
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "bare" else ""


def _error(source: str, pos: int, message: str, fix: str = FIX) -> TrackingError:
    caret = f"\n    {source}\n    {' ' * pos}^"
    return TrackingError(
        Problem("bad_filter", f"filter, at position {pos}: {message}{caret}", fix=fix)
    )


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    for m in _TOKEN.finditer(source):
        kind = m.lastgroup or "bad"
        if kind == "ws":
            continue
        if kind == "bad":
            raise _error(source, m.start(), f"unexpected character {m.group()!r}")
        if kind == "open":
            raise _error(source, m.start(), "unterminated string", "close the quote")
        tokens.append(Token(kind, m.group(), m.start()))
    # `metrics.` followed at once by `my metric` is one key.
    merged: list[Token] = []
    for tok in tokens:
        prev = merged[-1] if merged else None
        if (
            tok.kind == "bq"
            and prev is not None
            and prev.kind == "bare"
            and prev.text.endswith(".")
            and prev.pos + len(prev.text) == tok.pos
        ):
            merged[-1] = Token("key", prev.text + tok.text[1:-1], prev.pos)
        else:
            merged.append(tok)
    merged.append(Token("end", "", len(source)))
    return merged


def _unquote(tok: Token) -> str:
    body, quote = tok.text[1:-1], tok.text[0]
    body = body.replace(quote * 2, quote)
    return re.sub(r"\\(.)", r"\1", body)


@dataclass(frozen=True)
class Key:
    entity: str  # metric | param | tag | attr
    name: str
    pos: int


@dataclass(frozen=True)
class Compiled:
    """``WHERE`` text over ``runs AS r`` and its bound parameters."""

    sql: str
    params: tuple[Any, ...]
    keys: tuple[Key, ...]


def parse_key(text: str, pos: int, source: str) -> Key:
    head, dot, rest = text.partition(".")
    entity = ENTITY_PREFIXES.get(head.lower()) if dot else None
    if entity is None:
        name = ALIASES.get(text.lower(), text.lower())
        if name in ATTRIBUTES:
            return Key("attr", name, pos)
        raise _error(
            source,
            pos,
            f"unknown key '{text}'",
            f"prefix it with its kind: metrics.{text}, params.{text} or tags.{text};"
            f" attributes are {', '.join(ATTRIBUTES)}",
        )
    if not rest:
        raise _error(source, pos, f"'{text}' names no {entity}", f"write {head}.NAME")
    if entity == "attr":
        name = ALIASES.get(rest.lower(), rest.lower())
        if name not in ATTRIBUTES:
            raise _error(
                source, pos, f"unknown attribute '{rest}'", f"one of {', '.join(ATTRIBUTES)}"
            )
        return Key("attr", name, pos)
    return Key(entity, rest, pos)


def value_expr(key: Key) -> tuple[str, tuple[Any, ...], str]:
    """SQL for the key's value in run ``r``, its parameters, and its kind."""
    if key.entity == "attr":
        sql, kind = ATTRIBUTES[key.name]
        return sql, (), kind
    if key.entity == "metric":
        split, _, name = key.name.partition(".")
        if split in SPLITS and name:
            return (
                "COALESCE((SELECT value FROM metrics WHERE run_id = r.run_id AND split = ''"
                " AND name = ?), (SELECT value FROM metrics WHERE run_id = r.run_id"
                " AND split = ? AND name = ?))",
                (key.name, split, name),
                "number",
            )
        # Two primary-key look-ups: the logged metric, else the validation split's.
        return (
            "COALESCE((SELECT value FROM metrics WHERE run_id = r.run_id AND split = ''"
            " AND name = ?), (SELECT value FROM metrics WHERE run_id = r.run_id"
            " AND split = 'valid' AND name = ?))",
            (key.name, key.name),
            "number",
        )
    table = "params" if key.entity == "param" else "tags"
    return f"(SELECT value FROM {table} WHERE run_id = r.run_id AND key = ?)", (key.name,), "text"


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.params: list[Any] = []
        self.keys: list[Key] = []

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, tok: Token, expected: str) -> TrackingError:
        found = "the end of the filter" if tok.kind == "end" else f"'{tok.text}'"
        return _error(self.source, tok.pos, f"expected {expected}, found {found}")

    def parse(self) -> str:
        sql = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            raise self.fail(tok, "'and', 'or' or the end of the filter")
        return sql

    def or_expr(self) -> str:
        parts = [self.and_expr()]
        while self.peek().upper == "OR":
            self.next()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def and_expr(self) -> str:
        parts = [self.primary()]
        while self.peek().upper == "AND":
            self.next()
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def primary(self) -> str:
        tok = self.peek()
        if tok.kind == "punct" and tok.text == "(":
            self.next()
            inner = self.or_expr()
            close = self.next()
            if close.text != ")":
                raise self.fail(close, "')'")
            return f"({inner})"
        return self.comparison()

    def comparison(self) -> str:
        tok = self.next()
        is_key = tok.kind == "key" or (
            tok.kind == "bare" and tok.upper not in ("AND", "OR", "LIKE", "ILIKE", "IN", "NOT")
        )
        if not is_key:
            raise self.fail(tok, "a key such as metrics.roc_auc, params.model or status")
        key = parse_key(tok.text, tok.pos, self.source)
        self.keys.append(key)
        op_tok = self.next()
        op = self.operator(op_tok)
        expr, key_params, kind = value_expr(key)
        if op in ("IN", "NOT IN"):
            values = self.value_list()
            converted = [self.convert(key, kind, v, op) for v in values]
            self.params.extend(key_params)
            for value in converted:
                self.params.append(value)
            marks = ", ".join("?" for _ in converted)
            return f"{expr} {op} ({marks})"
        value_tok = self.next()
        if value_tok.kind not in ("str", "bare"):
            raise self.fail(value_tok, f"a value after {op}")
        value = self.convert(key, kind, value_tok, op)
        self.params.extend(key_params)
        if op == "ILIKE":
            self.params.append(value)
            return f"LOWER({expr}) LIKE LOWER(?)"
        # LIKE is case-sensitive as in MLflow: the query runs with PRAGMA case_sensitive_like.
        numeric = isinstance(value, float) and op in ("<", "<=", ">", ">=")
        if kind == "text" and key.entity in ("param", "tag") and numeric:
            self.params.append(value)
            return f"CAST({expr} AS REAL) {op} ?"
        self.params.append(value)
        return f"{expr} {op} ?"

    def operator(self, tok: Token) -> str:
        if tok.kind == "op":
            return {"==": "=", "<>": "!="}.get(tok.text, tok.text)
        word = tok.upper
        if word in ("LIKE", "ILIKE", "IN"):
            return word
        if word == "NOT":
            after = self.next()
            if after.upper in ("LIKE", "IN"):
                return f"NOT {after.upper}"
            raise self.fail(after, "LIKE or IN after NOT")
        raise self.fail(tok, "an operator (= != < <= > >= LIKE ILIKE IN)")

    def value_list(self) -> list[Token]:
        open_ = self.next()
        if open_.text != "(":
            raise self.fail(open_, "'(' starting the list of values")
        values = []
        while True:
            tok = self.next()
            if tok.kind not in ("str", "bare"):
                raise self.fail(tok, "a value")
            values.append(tok)
            sep = self.next()
            if sep.text == ")":
                return values
            if sep.text != ",":
                raise self.fail(sep, "',' or ')'")

    def convert(self, key: Key, kind: str, tok: Token, op: str) -> Any:
        text = _unquote(tok) if tok.kind == "str" else tok.text
        label = f"{key.entity}s.{key.name}" if key.entity != "attr" else key.name
        if op in ("LIKE", "NOT LIKE", "ILIKE") and kind != "text":
            raise _error(
                self.source, tok.pos, f"{label} is a number: LIKE compares text", "use = < > etc."
            )
        if kind == "number":
            number = _number(text)
            if number is None:
                raise _error(
                    self.source,
                    tok.pos,
                    f"{label} is compared with numbers, and {text!r} is not one",
                    f"write a number, e.g. {label} > 0.9",
                )
            return number
        if kind == "time":
            return _timestamp(text, tok.pos, self.source, label)
        if key.entity == "attr" and key.name == "status":
            return _STATUS_WORDS.get(text.lower(), text.lower())
        if tok.kind == "bare" and op in ("<", "<=", ">", ">=") and _number(text) is not None:
            return _number(text)
        return text


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def _timestamp(text: str, pos: int, source: str, label: str) -> float:
    number = _number(text)
    if number is not None:
        return number / 1000.0 if number > 1e11 else number  # MLflow gives milliseconds
    for fmt in _DATE_FORMATS:
        try:
            return time.mktime(time.strptime(text, fmt))
        except ValueError:
            continue
    raise _error(
        source,
        pos,
        f"{label} is a time, and {text!r} is neither a date nor a number",
        f"write a local date/time such as '2026-11-26' or '2026-11-26 14:30', or epoch seconds"
        f" ({label} >= '2026-11-26')",
    )


def compile_filter(source: str | None) -> Compiled:
    """``WHERE`` SQL for a filter string (empty or None: every run)."""
    if source is None or not source.strip():
        return Compiled("1", (), ())
    parser = _Parser(source)
    sql = parser.parse()
    return Compiled(sql, tuple(parser.params), tuple(parser.keys))


def compile_order(source: str | list[str] | None) -> tuple[str, tuple[Any, ...], tuple[Key, ...]]:
    """``ORDER BY`` SQL for ``"metrics.roc_auc desc, started"`` (or MLflow's list form).
    Missing values sort last whatever the direction; the newest run breaks ties."""
    text = ", ".join(source) if isinstance(source, list) else (source or "")
    parts: list[str] = []
    params: list[Any] = []
    keys: list[Key] = []
    tokens = tokenize(text)
    i = 0
    while tokens[i].kind != "end":
        tok = tokens[i]
        if tok.kind not in ("bare", "key"):
            raise _error(text, tok.pos, f"expected a key, found '{tok.text}'", _ORDER_FIX)
        key = parse_key(tok.text, tok.pos, text)
        keys.append(key)
        i += 1
        direction = "ASC"
        if tokens[i].upper in ("ASC", "DESC"):
            direction = tokens[i].upper
            i += 1
        expr, key_params, _ = value_expr(key)
        parts.append(f"({expr}) IS NULL, {expr} {direction}")
        params.extend(key_params * 2)
        if tokens[i].text == ",":
            i += 1
        elif tokens[i].kind != "end":
            raise _error(
                text,
                tokens[i].pos,
                f"expected ASC, DESC or ',', found '{tokens[i].text}'",
                _ORDER_FIX,
            )
    parts.append("r.started_at DESC, r.rowid DESC")
    return ", ".join(parts), tuple(params), tuple(keys)


_ORDER_FIX = 'write KEY [asc|desc], ... e.g. --sort "metrics.roc_auc desc, started"'
