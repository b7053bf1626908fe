"""Spark as eqlmini's engine when one machine is not enough: filter, search and scan DataFrames.

* :func:`filter`: the query's SQL (:mod:`eqlmini.sql`) in ``df.where``; what SQL cannot
  express exactly is selected loosely and confirmed by eqlmini in the Python workers.
* :func:`search`: SQL selects the events some stage could match; eqlmini's matcher runs
  group by group (:mod:`eqlmini.grouped`: by join key, or by overlapping time windows for a
  sequence with maxspan and no keys), then the results are numbered in Elasticsearch's
  order and the pipes applied.
* :func:`scan`: a RuleSet in every partition for the event rules; the others are grouped
  as in :func:`search`, all in one shuffle.

Time order needs a tiebreaker for events with equal (timestamp, tiebreaker): eqlmini
derives it from the input order, ``monotonically_increasing_id()`` of ``df`` (partition,
then row), which is the order of ``df.collect()``: deterministic for a DataFrame read
from files, not after a shuffle. Rows reach Python as Arrow batches, so dotted column
names (``process.name``) stay plain keys and no row is converted through pandas.

Requires ``pip install eqlmini[spark]`` (pyspark 4, Java 17); ``import eqlmini`` never
imports pyspark.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .errors import EqlError
from .grouped import Grouping, option_items, sortable, steps, time_window, worker_query
from .query import Query
from .ruleset import RuleSet
from .sequences import MissingEvent, Result
from .sql import SqlFilter
from .sql.columns import ColumnType, ListOf, Struct, column_type
from .values import to_text

if TYPE_CHECKING:
    import pyarrow
    from pyspark.sql import DataFrame

__all__ = ["columns", "filter", "scan", "search", "to_sql"]

_POSITION = "__eqlmini_position"
_GROUP = "__eqlmini_group"
_RULE = "__eqlmini_rule"
_ORDER = "__eqlmini_order"
_TOTAL = "__eqlmini_total"
Order = Callable[[Result, int], bytes]


def columns(df: "DataFrame") -> dict[str, ColumnType]:
    """The columns of a DataFrame and their types, as the SQL generator reads them."""
    return {field.name: _column_type(field.dataType) for field in df.schema.fields}


def _column_type(data_type: Any) -> ColumnType:
    from pyspark.sql import types

    if isinstance(data_type, types.ArrayType):
        return ListOf(_column_type(data_type.elementType))
    if isinstance(data_type, types.StructType):
        return Struct(tuple((field.name, _column_type(field.dataType)) for field in data_type.fields))
    return column_type(data_type.simpleString())


def to_sql(query: Query, df: "DataFrame", *, prefilter: bool = True) -> SqlFilter:
    """The query's Spark SQL condition for the columns of ``df`` (a pre-filter by default)."""
    return query.to_sql("spark", columns(df), prefilter=prefilter)


def filter(query: Query, df: "DataFrame") -> "DataFrame":  # noqa: A001 - the name is the API
    """The rows of ``df`` that an event query matches (those ``query.filter`` keeps)."""
    if query.kind != "event":
        raise EqlError(f"a {query.kind} query matches a stream of events, not rows one by one: use search()")
    condition = to_sql(query, df)
    selected = df.where(condition.sql)
    if condition.exact:
        return selected
    names = _Names(df)
    confirm = functools.partial(_confirm, names.original, query.text, option_items(query.options))
    return names.restore(names.safe(selected).mapInArrow(confirm, names.safe(df).schema))


def search(query: Query, df: "DataFrame", *, groups: int | None = None) -> "DataFrame":
    """Run any query over ``df`` as ``query.search`` would; one row per event of each result.

    Columns: ``result`` (from 0, in Elasticsearch's order), ``stage`` (the event's place in
    its result), ``join_keys`` (as text), ``missing`` (a ``![...]`` placeholder, whose
    event columns are null), then the columns of ``df``. ``groups`` sets how many groups
    the matching is split into (default: twice the default parallelism).
    """
    names = _Names(df)
    numbered = df.withColumn(_POSITION, _monotonic_id())
    candidates = names.safe(numbered.where(to_sql(query, df).sql))
    grouping = _grouping(query, candidates, names, groups or 2 * _parallelism(df))
    schema = _result_schema(names.safe(df))
    if query.kind == "event":
        matched = candidates.mapInArrow(functools.partial(_match_events, names.original, grouping), schema)
    else:
        route = functools.partial(_route, names.original, [grouping], None)
        routed = candidates.mapInArrow(route, _routed_schema(candidates))
        matched = routed.groupBy(_RULE, _GROUP).applyInArrow(_group_matcher(names.original, [grouping]), schema)
    return names.restore(_numbered(matched, [query]).drop(_RULE).orderBy("result", "stage"))


def scan(ruleset: RuleSet, df: "DataFrame") -> "DataFrame":
    """Every rule of ``ruleset`` over ``df``: one row per event of each alert.

    Columns: ``rule``, ``rule_id``, ``severity``, ``risk_score``, then those of :func:`search`
    (``result`` counts each rule's alerts from 0: in input order for event rules, which
    ``RuleSet.scan`` also keeps, in Elasticsearch's order for the others). Event rules run
    as one RuleSet in every partition; sequences, samples and rules with pipes are grouped
    by join key (one group per rule without keys), all in one shuffle.
    """
    from pyspark.sql import functions as F

    rules = list(ruleset.rules)
    timed = frozenset(i for i, rule in enumerate(rules) if rule.query.kind != "event" or rule.query.tree.pipes)
    groupings = [Grouping(rule.query.text, option_items(rule.query.options),
                          buckets=2 * _parallelism(df) if i in timed and _has_keys(rule.query) else 1)
                 for i, rule in enumerate(rules)]
    names = _Names(df)
    numbered = names.safe(df.withColumn(_POSITION, _monotonic_id()))
    schema = _result_schema(names.safe(df))
    parts = []
    if len(timed) < len(rules):
        tables = json.dumps([rule.table() for rule in rules], default=str)
        parts.append(numbered.mapInArrow(functools.partial(_scan_events, names.original, tables, timed), schema))
    if timed:
        routed = numbered.mapInArrow(functools.partial(_route, names.original, groupings, timed),
                                     _routed_schema(numbered))
        parts.append(routed.groupBy(_RULE, _GROUP).applyInArrow(_group_matcher(names.original, groupings), schema))
    if not parts:
        return df.sparkSession.createDataFrame([], schema).drop(_ORDER, _RULE)
    alerts = _numbered(functools.reduce(lambda a, b: a.unionByName(b), parts), [rule.query for rule in rules])
    rule = F.col(_RULE) + 1

    def attribute(name: str) -> Any:
        return F.element_at(F.array(*(F.lit(getattr(r, name)) for r in rules)), rule).alias(name)
    return names.restore(alerts.select(F.element_at(F.array(*(F.lit(r.name) for r in rules)), rule).alias("rule"),
                                       attribute("rule_id"), attribute("severity"), attribute("risk_score"), "*")
                         .drop(_RULE).orderBy("rule", "result", "stage"))


# ---------------------------------------------------------------- plans (driver side)
class _Names:
    """Top-level column names the Arrow APIs can take: PySpark's ``mapInArrow`` and
    ``applyInArrow`` look each column up by name, and ``df["process.name"]`` is a struct
    field there. Dotted names travel as ``__eqlmini_column<i>``; workers read the originals."""

    def __init__(self, df: "DataFrame") -> None:
        self.original = {f"__eqlmini_column{i}": name for i, name in enumerate(df.columns)
                         if "." in name or "`" in name}
        self.to_safe = {name: safe for safe, name in self.original.items()}

    def safe(self, df: "DataFrame") -> "DataFrame":
        """``df`` with its dotted column names replaced."""
        return df.toDF(*(self.to_safe.get(name, name) for name in df.columns)) if self.to_safe else df

    def restore(self, df: "DataFrame") -> "DataFrame":
        """``df`` with the original column names back."""
        return df.toDF(*(self.original.get(name, name) for name in df.columns)) if self.original else df


def _renamed(table: Any, names: dict[str, str]) -> Any:
    """An Arrow table or batch with its columns renamed by ``names`` (others kept)."""
    return table.rename_columns([names.get(name, name) for name in table.schema.names]) if names else table


def _monotonic_id() -> Any:
    from pyspark.sql import functions

    return functions.monotonically_increasing_id()


def _parallelism(df: "DataFrame") -> int:
    return df.sparkSession.sparkContext.defaultParallelism


def _result_schema(df: "DataFrame") -> Any:
    """result, stage, join_keys, missing, the columns of ``df``, then the sort key and rule."""
    from pyspark.sql import types as T

    return T.StructType([T.StructField("result", T.LongType()), T.StructField("stage", T.IntegerType()),
                         T.StructField("join_keys", T.ArrayType(T.StringType())),
                         T.StructField("missing", T.BooleanType()), *df.schema.fields,
                         T.StructField(_ORDER, T.BinaryType()), T.StructField(_RULE, T.IntegerType())])


def _routed_schema(numbered: "DataFrame") -> Any:
    from pyspark.sql import types as T

    return T.StructType([*numbered.schema.fields, T.StructField(_RULE, T.IntegerType()),
                         T.StructField(_GROUP, T.IntegerType())])


def _has_keys(query: Query) -> bool:
    return bool(getattr(query.tree.body, "by", ())) or any(stage.by for stage in query.tree.stages())


def _grouping(query: Query, candidates: "DataFrame", names: _Names, groups: int) -> Grouping:
    """Groups by join key; by time windows for a sequence with maxspan and no keys."""
    items = option_items(query.options)
    if query.kind == "event":
        return Grouping(query.text, items)
    if _has_keys(query):
        return Grouping(query.text, items, buckets=groups)
    maxspan = getattr(query.tree.body, "maxspan", None)
    if maxspan is None:
        return Grouping(query.text, items)  # one stream: one group
    millis = functools.partial(_millis, names.original, query.text, items)
    stamps = candidates.mapInArrow(millis, "millis double").collect()
    return Grouping(query.text, items, window=time_window((row.millis for row in stamps), maxspan.millis, groups))


def _numbered(matched: "DataFrame", queries: list[Query]) -> "DataFrame":
    """Number each rule's results in their order, then keep those its size and pipes pass."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    by_rule = Window.partitionBy(_RULE)
    matched = matched.withColumn("result", F.dense_rank().over(by_rule.orderBy(_ORDER)) - 1)
    if any(steps(query) for query in queries):
        matched = matched.withColumn(_TOTAL, F.max("result").over(by_rule) + 1)
        keep, first = F.lit(False), F.lit(0)
        for index, query in enumerate(queries):
            start, stop = F.lit(0), F.col(_TOTAL)
            for name, count in steps(query):  # head and tail slice what the limit before left
                if name == "head":
                    stop = F.least(stop, start + count)
                else:
                    start = F.greatest(start, stop - count)
            here = F.col(_RULE) == index
            keep = keep | (here & (F.col("result") >= start) & (F.col("result") < stop))
            first = F.when(here, start).otherwise(first)
        matched = matched.where(keep).withColumn("result", F.col("result") - first).drop(_TOTAL)
    return matched.drop(_ORDER)


# ---------------------------------------------------------------- workers
def _confirm(names: dict[str, str], text: str, options: tuple,
             batches: Iterator["pyarrow.RecordBatch"]) -> Iterator["pyarrow.RecordBatch"]:
    import pyarrow

    match = worker_query(text, options).match
    for batch in batches:
        rows = _renamed(batch, names).to_pylist()
        yield batch.filter(pyarrow.array([match(row) for row in rows], type=pyarrow.bool_()))


def _millis(names: dict[str, str], text: str, options: tuple,
            batches: Iterator["pyarrow.RecordBatch"]) -> Iterator["pyarrow.RecordBatch"]:
    import pyarrow

    millis = worker_query(text, options).order().millis
    for batch in batches:
        rows = _renamed(batch, names).to_pylist()
        yield pyarrow.RecordBatch.from_pydict({"millis": [float(millis(row)) for row in rows]})


def _route(names: dict[str, str], groupings: list[Grouping], timed: frozenset[int] | None,
           batches: Iterator["pyarrow.RecordBatch"]) -> Iterator["pyarrow.RecordBatch"]:
    """Each event once per group that needs it, with the rule's index and the group."""
    import pyarrow

    chosen = range(len(groupings)) if timed is None else sorted(timed)
    for batch in batches:
        take, rule_ids, group_ids = [], [], []
        for index, row in enumerate(_renamed(batch, names).to_pylist()):
            for rule in chosen:
                for group in groupings[rule].targets(row):
                    take.append(index)
                    rule_ids.append(rule)
                    group_ids.append(group)
        out = batch.take(pyarrow.array(take, type=pyarrow.int64()))
        out = out.append_column(_RULE, pyarrow.array(rule_ids, type=pyarrow.int32()))
        yield out.append_column(_GROUP, pyarrow.array(group_ids, type=pyarrow.int32()))


def _group_matcher(names: dict[str, str], groupings: list[Grouping]) -> Callable[[Any], Any]:
    """The function ``applyInArrow`` runs per group (a plain function: PySpark 4.1 fails to
    read the type hints of a ``functools.partial``)."""
    def match(table: Any) -> Any:
        return _match_group(names, groupings, table)
    return match


def _match_group(names: dict[str, str], groupings: list[Grouping], table: "pyarrow.Table") -> "pyarrow.Table":
    """One group's results, as result rows (see :func:`search`), the events in input order."""
    rule = table.column(_RULE)[0].as_py()
    group = table.column(_GROUP)[0].as_py()
    table = _renamed(table.drop_columns([_RULE, _GROUP]), names)
    table = table.take(_argsort(table.column(_POSITION).to_pylist()))
    rows = table.to_pylist()
    grouping = groupings[rule]
    results = list(grouping.match(group, rows))
    return _renamed(_result_rows(table, rows, results, rule, _order(grouping, rows)), _inverse(names))


def _match_events(names: dict[str, str], grouping: Grouping,
                  batches: Iterator["pyarrow.RecordBatch"]) -> Iterator["pyarrow.RecordBatch"]:
    """An event query's matches in each batch, ordered by (timestamp, tiebreaker, input position)."""
    import pyarrow

    match = grouping.query.match
    for batch in batches:
        table = _renamed(pyarrow.Table.from_batches([batch]), names)
        rows = table.to_pylist()
        results = [Result((row,), ()) for row in rows if match(row)]
        yield from _renamed(_result_rows(table, rows, results, 0, _order(grouping, rows)), _inverse(names)).to_batches()


def _scan_events(names: dict[str, str], tables: str, timed: frozenset[int],
                 batches: Iterator["pyarrow.RecordBatch"]) -> Iterator["pyarrow.RecordBatch"]:
    """The pack's event rules, one RuleSet over each batch; alerts numbered in input order."""
    import pyarrow

    ruleset, indices = _worker_ruleset(tables, timed)
    for batch in batches:
        table = _renamed(pyarrow.Table.from_batches([batch]), names)
        rows = table.to_pylist()
        found: dict[int, list[Result]] = {}
        for alert in ruleset.scan(rows):
            found.setdefault(indices[id(alert.rule)], []).append(Result(alert.events, alert.join_keys))

        def order(result: Result, rank: int) -> bytes:
            return sortable((result.events[0][_POSITION], rank))
        for rule, results in found.items():
            yield from _renamed(_result_rows(table, rows, results, rule, order), _inverse(names)).to_batches()


@functools.lru_cache(maxsize=8)
def _worker_ruleset(tables: str, timed: frozenset[int]) -> tuple[RuleSet, dict[int, int]]:
    """The event rules as a RuleSet, built once per worker process; id(rule) -> rule index."""
    from .rules import Rule

    chosen = [(i, Rule.from_table(table)) for i, table in enumerate(json.loads(tables)) if i not in timed]
    ruleset = RuleSet(rule for _, rule in chosen)
    return ruleset, {id(rule): i for rule, (i, _) in zip(ruleset.rules, chosen)}


def _order(grouping: Grouping, rows: list[dict]) -> Order:
    position = {id(row): row[_POSITION] for row in rows}
    return lambda result, rank: grouping.sort_key(result, position, rank)


def _result_rows(table: "pyarrow.Table", rows: list[dict], results: list[Result], rule: int,
                 order: Order) -> "pyarrow.Table":
    """One row per event of each result: the event's columns taken from ``table``."""
    import pyarrow

    index = {id(row): i for i, row in enumerate(rows)}
    take: list[int | None] = []
    stages, keys, missing, orders = [], [], [], []
    for rank, result in enumerate(results):
        key = order(result, rank)
        texts = [None if value is None else to_text(value) for value in result.join_keys]
        for stage, event in enumerate(result.events):
            placeholder = isinstance(event, MissingEvent)
            take.append(None if placeholder else index[id(event)])
            stages.append(stage)
            keys.append(texts)
            missing.append(placeholder)
            orders.append(key)
    events = table.drop_columns([_POSITION]).take(pyarrow.array(take, type=pyarrow.int64()))
    count = len(take)
    columns = {"result": pyarrow.nulls(count, pyarrow.int64()), "stage": pyarrow.array(stages, pyarrow.int32()),
               "join_keys": pyarrow.array(keys, pyarrow.list_(pyarrow.string())),
               "missing": pyarrow.array(missing, pyarrow.bool_()),
               **{name: events.column(name) for name in events.column_names},
               _ORDER: pyarrow.array(orders, pyarrow.binary()), _RULE: pyarrow.array([rule] * count, pyarrow.int32())}
    return pyarrow.table(columns)


def _inverse(names: dict[str, str]) -> dict[str, str]:
    return {original: safe for safe, original in names.items()}


def _argsort(values: list[int]) -> list[int]:
    return sorted(range(len(values)), key=values.__getitem__)
