"""One adapter per frame library (pandas, Polars, pyarrow): read columns, take rows, build frames.

The rest of :mod:`eqlmini.frames` sees a frame only through a :class:`Table`. A library is
imported only when a frame of its kind arrives or a frame of its kind is asked for, so that
``import eqlmini`` never imports pandas, Polars or pyarrow.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar, Mapping, Sequence

from ..errors import EqlError

# (top-level module, class name) -> kind, matched along the class's MRO (subclasses count).
_CLASSES = {("pandas", "DataFrame"): "pandas", ("polars", "DataFrame"): "polars", ("pyarrow", "Table"): "arrow"}


def kind_of(obj: Any) -> str | None:
    """``"pandas"``, ``"polars"`` or ``"arrow"`` for a frame of that library, else None.

    Looks at class names only, so it costs no import and works whatever is installed.
    """
    for cls in type(obj).__mro__:
        kind = _CLASSES.get((cls.__module__.partition(".")[0], cls.__name__))
        if kind is not None:
            return kind
    return None


class Table:
    """A frame seen column by column: names, each column's values as Python objects, rows."""

    kind: ClassVar[str]
    module: ClassVar[str]

    def __init__(self, frame: Any) -> None:
        self.frame = frame
        self.names: list[Any] = list(self._names())

    @classmethod
    def of(cls, frame: Any) -> "Table":
        """The adapter for ``frame``: a pandas or Polars DataFrame or a pyarrow Table."""
        kind = kind_of(frame)
        if kind is None:
            raise EqlError(f"not a frame: {type(frame).__name__} (a pandas or Polars DataFrame or a pyarrow Table)")
        return TABLES[kind](frame)

    @classmethod
    def library(cls) -> Any:
        """The library's module, imported now (with a clear error if it is not installed)."""
        try:
            return importlib.import_module(cls.module)
        except ImportError:
            raise EqlError(f"{cls.module} is not installed: pip install 'eqlmini[{cls.kind}]'") from None

    def __len__(self) -> int:
        raise NotImplementedError

    def _names(self) -> Sequence[Any]:
        raise NotImplementedError

    def values(self, position: int, path: tuple[str, ...] = (), rows: Sequence[int] | None = None) -> list[Any]:
        """The values of column ``position`` (or of the struct field ``path`` inside it), one
        per row, or one for each of ``rows``."""
        raise NotImplementedError

    def children(self, position: int, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
        """The field names of a struct column (at ``path`` inside it), None if it is no struct."""
        return None

    def codes(self, position: int, path: tuple[str, ...] = (),
              rows: Sequence[int] | None = None) -> tuple[Any, list[Any]] | None:
        """The column's distinct values (as :meth:`values` gives them) and, per row (or for
        each of ``rows``), the index of its value among them (a numpy array); None unless the library tells values apart
        exactly as eqlmini does: text, integers, booleans, and lists of them.

        Floats are left out: a library's equality merges ``0.0`` and ``-0.0`` (which read
        ``"0.0"`` and ``"-0.0"`` as text), as Python's equality merges ``1`` and ``True``.
        """
        return None

    def take(self, rows: list[int]) -> Any:
        """The frame's rows at these positions, in this order: same columns, same index."""
        raise NotImplementedError

    def take_or_null(self, rows: list[int | None]) -> Any:
        """A new frame of the rows at these positions (a row of nulls for None), default index."""
        raise NotImplementedError

    @classmethod
    def build(cls, columns: Mapping[str, list[Any]]) -> Any:
        """A frame of this kind from columns of Python values."""
        raise NotImplementedError

    @classmethod
    def beside(cls, left: Any, right: Any) -> Any:
        """Two frames of this kind with the same number of rows, side by side."""
        raise NotImplementedError


class PandasTable(Table):
    """A pandas DataFrame (its index is kept by :meth:`take`)."""

    kind, module = "pandas", "pandas"

    def __len__(self) -> int:
        return len(self.frame)

    def _names(self) -> Sequence[Any]:
        return self.frame.columns

    def _series(self, position: int, rows: Sequence[int] | None) -> Any:
        return self.frame.iloc[:, position] if rows is None else self.frame.iloc[rows, position]

    def values(self, position: int, path: tuple[str, ...] = (), rows: Sequence[int] | None = None) -> list[Any]:
        return self._series(position, rows).tolist()  # type: ignore[no-any-return]

    def codes(self, position: int, path: tuple[str, ...] = (),
              rows: Sequence[int] | None = None) -> tuple[Any, list[Any]] | None:
        pd = self.library()
        series = self._series(position, rows)
        if not (isinstance(series.dtype, pd.StringDtype) or series.dtype.kind in "iub"):
            return None  # an object column may mix 1, 1.0 and True, which pandas merges
        codes, distinct = pd.factorize(series, use_na_sentinel=False)
        return codes, distinct.tolist()

    def take(self, rows: list[int]) -> Any:
        return self.frame.iloc[rows]

    def take_or_null(self, rows: list[int | None]) -> Any:
        frame = self.frame.reset_index(drop=True)
        if None not in rows:
            return frame.iloc[rows].reset_index(drop=True)
        # reindex fills the rows of a label it lacks (-1) with nulls
        return frame.reindex([-1 if row is None else row for row in rows]).reset_index(drop=True)

    @classmethod
    def build(cls, columns: Mapping[str, list[Any]]) -> Any:
        return cls.library().DataFrame(dict(columns))

    @classmethod
    def beside(cls, left: Any, right: Any) -> Any:
        return cls.library().concat([left, right], axis=1)


class PolarsTable(Table):
    """A Polars DataFrame; struct columns are read field by field."""

    kind, module = "polars", "polars"

    def __len__(self) -> int:
        return self.frame.height

    def _names(self) -> Sequence[Any]:
        return self.frame.columns

    def _series(self, position: int, path: tuple[str, ...], rows: Sequence[int] | None = None) -> Any:
        series = self.frame.to_series(position)
        if rows is not None:
            series = series.gather(rows)
        for name in path:
            series = series.struct.field(name)
        return series

    def values(self, position: int, path: tuple[str, ...] = (), rows: Sequence[int] | None = None) -> list[Any]:
        return self._series(position, path, rows).to_list()  # type: ignore[no-any-return]

    def codes(self, position: int, path: tuple[str, ...] = (),
              rows: Sequence[int] | None = None) -> tuple[Any, list[Any]] | None:
        return polars_codes(self._series(position, path, rows))

    def children(self, position: int, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
        dtype = self._series(position, path).dtype
        if not isinstance(dtype, self.library().Struct):
            return None
        return tuple(field.name for field in dtype.fields)

    def take(self, rows: list[int]) -> Any:
        pl = self.library()
        return self.frame.select(pl.all().gather(pl.Series(rows, dtype=pl.Int64)))

    def take_or_null(self, rows: list[int | None]) -> Any:
        return self.take(rows)  # type: ignore[arg-type]  # a null position gathers a row of nulls

    @classmethod
    def build(cls, columns: Mapping[str, list[Any]]) -> Any:
        pl = cls.library()
        try:
            return pl.DataFrame(dict(columns))
        except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
            raise EqlError(f"cannot build a Polars DataFrame ({error}); try kind='pandas'") from None

    @classmethod
    def beside(cls, left: Any, right: Any) -> Any:
        return cls.library().concat([left, right], how="horizontal")


class ArrowTable(Table):
    """A pyarrow Table; struct columns are read field by field."""

    kind, module = "arrow", "pyarrow"

    def __len__(self) -> int:
        return self.frame.num_rows

    def _names(self) -> Sequence[Any]:
        return self.frame.column_names

    def _column(self, position: int, path: tuple[str, ...], rows: Sequence[int] | None = None) -> Any:
        column = self.frame.column(position)
        if rows is not None:
            column = column.take(self.library().array(rows, type=self.library().int64()))
        if path:
            column = importlib.import_module("pyarrow.compute").struct_field(column, list(path))
        return column

    def values(self, position: int, path: tuple[str, ...] = (), rows: Sequence[int] | None = None) -> list[Any]:
        return self._column(position, path, rows).to_pylist()  # type: ignore[no-any-return]

    def codes(self, position: int, path: tuple[str, ...] = (),
              rows: Sequence[int] | None = None) -> tuple[Any, list[Any]] | None:
        try:  # Polars finds distinct lists too, which Arrow's compute functions do not
            pl = importlib.import_module("polars")
        except ImportError:
            return None
        return polars_codes(pl.from_arrow(self._column(position, path, rows)))

    def children(self, position: int, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
        kind = self._column(position, path).type
        if not self.library().types.is_struct(kind):
            return None
        return tuple(kind.field(i).name for i in range(kind.num_fields))

    def take(self, rows: list[int]) -> Any:
        pa = self.library()
        return self.frame.take(pa.array(rows, type=pa.int64()))

    def take_or_null(self, rows: list[int | None]) -> Any:
        return self.take(rows)  # type: ignore[arg-type]  # a null position takes a row of nulls

    @classmethod
    def build(cls, columns: Mapping[str, list[Any]]) -> Any:
        pa = cls.library()
        try:
            return pa.table(dict(columns))
        except (TypeError, ValueError, pa.ArrowException) as error:
            raise EqlError(f"cannot build an Arrow table ({error}); try kind='pandas'") from None

    @classmethod
    def beside(cls, left: Any, right: Any) -> Any:
        return cls.library().Table.from_arrays([*left.columns, *right.columns],
                                               names=[*left.column_names, *right.column_names])


def polars_codes(series: Any) -> tuple[Any, list[Any]] | None:
    """:meth:`Table.codes` of a Polars Series."""
    pl = importlib.import_module("polars")

    def exact(dtype: Any) -> bool:
        if isinstance(dtype, (pl.List, pl.Array)):
            return exact(dtype.inner)
        return dtype == pl.String or dtype == pl.Boolean or dtype.is_integer()
    if not exact(series.dtype):
        return None
    try:
        distinct = series.unique(maintain_order=True).to_frame("value").with_row_index("code")
    except pl.exceptions.InvalidOperationError:  # Polars 1 finds no distinct lists: read values
        return None
    codes = series.to_frame("value").join(distinct, on="value", how="left", nulls_equal=True, maintain_order="left")
    return codes["code"].to_numpy(), distinct["value"].to_list()


TABLES: dict[str, type[Table]] = {table.kind: table for table in (PandasTable, PolarsTable, ArrowTable)}
