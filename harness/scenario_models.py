"""What the scenario files may hold, as pydantic models: a matrix file, intermediaries.toml and
profiles.toml.

Each model checks what its own table holds: strict types (`true` is not a number and `"3"` is
not one either), the bounds and safe names of harness/limits.py, and unknown keys (a typo:
`extra="forbid"`). What needs more than one table or the registries (an [[expect]] naming a
cell of its matrix, intermediary names, the options a behaviour declares, a chain's hop order)
is plain code in harness/scenario.py, after the models have parsed.

pydantic v2 because it is already installed and used for the documents gauntlet writes
(harness/documents.py); msgspec would be a second dependency doing the same job. The errors
keep the loader's wording, one line naming file, place and field
(`smoke.toml: workload: field 'events': expected int, got str 'three'`): pydantic's error is
split by documents.problem, the one splitter both use, and the types below word a refusal the
way a TOML author reads it (the type found and the value, which pydantic's "Input should be a
valid integer" leaves out).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from gauntlet import limits
from gauntlet.documents import place_and_field, problem
from gauntlet.errors import ScenarioError
from gauntlet.spec import ANY_PROTOCOL
from gauntlet.verdict import Verdict

OWN = "scenario"
"""The error type of every refusal worded here: shown as it is."""
PYDANTIC_WORDS = {"missing": "missing", "extra_forbidden": "unknown field (a typo?)"}


def _refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError(OWN, "{message}", {"message": message})


def _expected(kind: str, *, container: bool = False) -> WrapValidator:
    """pydantic's strict check, its refusal worded `expected <kind>, got <type> <value>`.
    For a list or a table (`container`) only the refusal of the value itself is reworded: an
    error inside it names its own place."""

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            if container and any(e["loc"] for e in exc.errors()):
                raise
            raise _refuse(f"expected {kind}, got {type(value).__name__} {value!r:.40}") from None

    return WrapValidator(check)


def _bounded(bounds: tuple[float, float], *, above: bool = False) -> AfterValidator:
    """A finite number within `bounds` (harness/limits.py says why each bound is there)."""

    def check(value: float) -> float:
        if (why := limits.out_of_bounds(value, bounds, above=above)) is not None:
            raise _refuse(why)
        return value

    return AfterValidator(check)


def _check[T](why_not: Callable[[T], str | None]) -> AfterValidator:
    """A value `why_not` finds nothing wrong with (it says what is wrong, or None)."""

    def check(value: T) -> T:
        if (why := why_not(value)) is not None:
            raise _refuse(why)
        return value

    return AfterValidator(check)


def _twice(values: list[str]) -> str | None:
    for i, value in enumerate(values):
        if value in values[:i]:
            return f"{value!r} is listed twice ([{values.index(value)}] and [{i}])"
    return None


def _not_a_verdict(value: str) -> str | None:
    return None if value in Verdict.__members__ else f"{value!r} is not one of {', '.join(Verdict)}"


def _blank(value: str) -> str | None:
    return None if value.strip() else "must say why (a reader checks it against docs/field.md)"


def _too_many_hops(hops: list[Any]) -> str | None:
    if len(hops) <= limits.MAX_HOPS:
        return None
    return f"{len(hops)} hops; at most {limits.MAX_HOPS} (each is a mitmdump of about 70 MB)"


TABLE = _expected("dict", container=True)
"""Where a TOML table must be: anything else is `expected dict, got ...`."""
LIST = _expected("list", container=True)
Int = Annotated[StrictInt, _expected("int")]
Number = Annotated[StrictInt | StrictFloat, _expected("int or float")]
"""An int stays an int (results.json shows `10`, not `10.0`)."""
Str = Annotated[StrictStr, _expected("str")]
Bool = Annotated[StrictBool, _expected("bool")]
Scalar = Annotated[
    StrictStr | StrictInt | StrictFloat | StrictBool, _expected("str or int or float or bool")
]
Name = Annotated[Str, _check(limits.bad_name)]
Names = Annotated[list[Str], LIST, _check(_twice)]
"""Distinct names (transports, intermediaries, protocols, header opt-outs, matrices)."""
Options = Annotated[dict[str, Any], TABLE]
"""A hop's options: each value's type depends on its behaviours (harness/scenario.py)."""


class Table(BaseModel):
    """A TOML table: strict types, no key it does not name."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# ---------------------------------------------------------------------------------------------
# A matrix file: scenarios/<name>.toml


class WorkloadTable(Table):
    events: Annotated[Int, _bounded(limits.EVENTS)]
    rate_per_s: Annotated[Number, _bounded(limits.RATE_PER_S)]
    payload_bytes: Annotated[Int, _bounded(limits.PAYLOAD_BYTES)]
    burst: Annotated[Int, _bounded(limits.BURST)] = 1
    quiet_after: Int = 0  # below events: harness/scenario.py
    quiet_real_s: Annotated[Number, _bounded(limits.QUIET_REAL_S)] = 0.0


class BudgetTable(Table):
    latency_p95_ms: Annotated[Number, _bounded(limits.LATENCY_P95_MS, above=True)]
    max_lost: Int = 0  # at most the workload's events: harness/scenario.py
    max_batch_tokens: Annotated[Int, _bounded((0, limits.EVENTS[1]), above=True)] | None = None
    inter_token_p99_ms: Annotated[Number, _bounded(limits.LATENCY_P95_MS, above=True)] | None = None
    added_p50_ms: Annotated[Number, _bounded(limits.LATENCY_P95_MS, above=True)] | None = None
    deliver_within_real_s: Annotated[Number, _bounded(limits.DELIVER_WITHIN_REAL_S, above=True)]


class ExpectEntry(Table):
    """One [[expect]]: the verdict and reason of a cell; `protocol` and `headers` absent (`*`)
    mean every protocol and header opt-out of the matrix."""

    transport: Str
    intermediary: Str
    protocol: Str = ANY_PROTOCOL
    headers: Str = ANY_PROTOCOL
    verdict: Annotated[Str, _check(_not_a_verdict)]
    reason: Annotated[Str, _check(_blank)]


class MatrixFile(Table):
    """Fields in the order the loader always checked them (the first error is reported)."""

    name: Name | None = None  # absent: the file's name
    description: Str
    time_scale: Annotated[Number, _bounded(limits.TIME_SCALE)]
    workload: Annotated[WorkloadTable, TABLE]
    budget: Annotated[BudgetTable, TABLE]
    transports: Names
    intermediaries: Names
    protocols: Names = Field(default_factory=lambda: ["h1"])
    headers: Names = Field(default_factory=lambda: ["none"])
    expect: Annotated[list[Annotated[ExpectEntry, TABLE]], LIST]


# ---------------------------------------------------------------------------------------------
# intermediaries.toml: named chains of hops


class HopTable(Table):
    behaviours: Names | None = None  # required unless `external` or `real`: harness/scenario.py
    mode: Str | None = None  # absent: reverse, or the real device's own mode
    options: Options = Field(default_factory=dict)
    external: Str | None = None
    real: Str | None = None


class ChainTable(Table):
    description: Str
    hops: Annotated[list[Annotated[HopTable, TABLE]], LIST, _check(_too_many_hops)]
    server: Str | None = None


# ---------------------------------------------------------------------------------------------
# profiles.toml


class ProfileTable(Table):
    description: Str
    matrices: Names
    repeats: Annotated[Int, _bounded(limits.PROFILE_REPEATS)] = 1
    jobs: Annotated[Int, _bounded(limits.PROFILE_JOBS)] = 1


# ---------------------------------------------------------------------------------------------
# scenarios/fidelity/pairs.toml: each emulation against the real device it names


class FidelityBudget(Table):
    latency_p95_ms: Annotated[Number, _bounded(limits.LATENCY_P95_MS, above=True)]
    deliver_within_real_s: Annotated[Number, _bounded(limits.DELIVER_WITHIN_REAL_S, above=True)]


class PairEntry(Table):
    """One [[pair]]: a real device:preset, the behaviours of the hop that imitates it (none:
    a device nothing imitates yet), the `Imitates:` line it claims, what it does not claim."""

    real: Str
    emulation: Names = Field(default_factory=list)
    options: Options = Field(default_factory=dict)
    claims: Str
    not_claimed: Annotated[dict[str, Str], TABLE] = Field(default_factory=dict)
    relay_options: Options = Field(default_factory=dict)


class PairsFile(Table):
    description: Str
    time_scale: Annotated[Number, _bounded(limits.TIME_SCALE)]
    transports: Names
    budget: Annotated[FidelityBudget, TABLE]
    latency_not_claimed: Annotated[dict[str, Str], TABLE] = Field(default_factory=dict)
    workloads: Annotated[dict[str, Annotated[WorkloadTable, TABLE]], TABLE]
    pair: Annotated[list[Annotated[PairEntry, TABLE]], LIST]


MATRIX = TypeAdapter(MatrixFile)
PAIRS = TypeAdapter(PairsFile)
CHAINS: TypeAdapter[dict[str, ChainTable]] = TypeAdapter(dict[str, Annotated[ChainTable, TABLE]])
PROFILES: TypeAdapter[dict[str, ProfileTable]] = TypeAdapter(
    dict[str, Annotated[ProfileTable, TABLE]]
)
OPTION_KINDS: dict[str, TypeAdapter[Any]] = {
    "int": TypeAdapter(Int),
    "str": TypeAdapter(Str),
    "bool": TypeAdapter(Bool),
    "float": TypeAdapter(Number),
}
"""The types a behaviour declares for its options (proxies/, `load()`)."""
OTHER_OPTION: TypeAdapter[Any] = TypeAdapter(Scalar)
"""Any other option goes to mitmproxy as it is (its own options): a string, number or boolean."""


def parse[T](adapter: TypeAdapter[T], data: Any, path: Path, at: Sequence[int | str] = ()) -> T:
    """`data` read from `path` (at `at` in it), validated; ScenarioError (one line) if not."""
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        found = problem(exc, at)
        what = PYDANTIC_WORDS.get(found.kind, found.message)
        if found.kind not in PYDANTIC_WORDS and found.kind != OWN:  # pydantic's own words
            what += f" (got {found.got!r:.40})"
        raise field_error(path, found.place, found.field, what) from None


def error_at(path: Path, loc: Sequence[int | str], what: str) -> ScenarioError:
    """The error of the field at `loc` (`("expect", 3, "verdict")`) in `path`."""
    return field_error(path, *place_and_field(loc), what)


def field_error(path: Path, place: str, field: str, what: str) -> ScenarioError:
    """The loader's one error line: `<file>: <place>: field '<field>': <what>` (no place at the
    top of the file)."""
    return ScenarioError(f"{path}: {place + ': ' if place else ''}field '{field}': {what}")
