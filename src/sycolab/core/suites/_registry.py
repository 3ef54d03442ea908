"""`load_suite`: resolve a suite spec (a built-in name or ``FORMAT:PATH``) to a `Suite`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sycolab.core.errors import UserInputError
from sycolab.core.items import Item
from sycolab.core.suites._suite import Suite
from sycolab.core.suites.addition import build_addition_claims
from sycolab.core.suites.arithmetic import build_arithmetic
from sycolab.core.suites.elephant import load_elephant_suite
from sycolab.core.suites.facts import build_facts
from sycolab.core.suites.freeform import load_freeform_suite
from sycolab.core.suites.jsonl import load_jsonl
from sycolab.core.suites.perez import load_perez
from sycolab.core.suites.sycon import SETTINGS, load_sycon_suite
from sycolab.core.suites.sycophancy_eval import load_sycophancy_eval_suite


@dataclass(frozen=True)
class FileFormat:
    """How ``FORMAT:PATH`` loads: `load(path, name, selector)` returns the items (a suite without
    defaults) or a `Suite` with its defaults; `directory` when PATH is a folder; `selectors` are
    the names allowed after ``PATH@`` (passed as `selector`, else None)."""

    load: Callable[[Path, str, str | None], list[Item] | Suite]
    directory: bool = False
    selectors: tuple[str, ...] = ()

    def spec(self, fmt: str) -> str:
        """How the format is written in `VALID_SPECS`."""
        target = "DIR" if self.directory else "PATH"
        return f"{fmt}:{target}" + (f"[@{'|'.join(self.selectors)}]" if self.selectors else "")


BUILTIN_SUITES: dict[str, Callable[[], list[Item]]] = {
    "facts": build_facts,
    "arithmetic": build_arithmetic,
    "addition-claims": build_addition_claims,
}
FILE_FORMATS: dict[str, FileFormat] = {
    "perez": FileFormat(lambda path, name, _: load_perez(path, name)),
    "sycophancy-eval": FileFormat(lambda path, name, _: load_sycophancy_eval_suite(path, name)),
    "jsonl": FileFormat(lambda path, name, _: load_jsonl(path, name)),
    "sycon": FileFormat(load_sycon_suite, directory=True, selectors=SETTINGS),
    "freeform": FileFormat(lambda path, name, _: load_freeform_suite(path, name)),
    "elephant": FileFormat(lambda path, name, _: load_elephant_suite(path, name)),
}
VALID_SPECS = (*BUILTIN_SUITES, *(f.spec(name) for name, f in FILE_FORMATS.items()))


def _split_selector(raw: str, form: FileFormat) -> tuple[str, str | None]:
    """``PATH@SEL`` -> (PATH, SEL) for a format with selectors; an unknown SEL after an existing
    PATH is an error listing the valid ones."""
    head, at, tail = raw.rpartition("@")
    if not form.selectors or not at:
        return raw, None
    if tail in form.selectors:
        return head, tail
    if head and Path(head).expanduser().exists() and not Path(raw).expanduser().exists():
        raise UserInputError(f"unknown part {tail!r} after '@'; valid: {', '.join(form.selectors)}")
    return raw, None


def _resolve(spec: str, fmt: str, raw: str, directory: bool) -> Path:
    if not raw:
        raise UserInputError(f"suite {spec!r} needs a {'folder' if directory else 'path'} "
                             f"after '{fmt}:'")
    path = Path(raw).expanduser()
    if not path.exists():
        raise UserInputError(f"suite {'folder' if directory else 'file'} not found: {raw}")
    if directory and not path.is_dir():
        raise UserInputError(f"suite path is not a folder: {raw} ({fmt}: reads a folder)")
    if not directory and not path.is_file():
        raise UserInputError(f"suite path is not a file: {raw}")
    return path


def load_suite(spec: str) -> Suite:
    """Load a suite: ``facts``, ``arithmetic``, ``addition-claims``; ``perez:PATH``,
    ``sycophancy-eval:PATH``, ``jsonl:PATH``; the field benchmarks ``sycon:DIR`` (a SYCON-Bench
    folder; ``sycon:DIR@debate|ethical|presupposition`` for one setting), ``freeform:PATH``,
    ``elephant:PATH`` (ELEPHANT OEQ or AITA CSV). A file suite's name is the file's stem (a sycon
    suite's: the folder's name, or ``sycon-<setting>``). Field suites carry their default
    protocols and reply length (`Suite.default_protocols`, `Suite.default_max_new_tokens`).

    Raises `UserInputError` (one line) for an unknown name or format, a missing file or folder,
    a file where a folder is needed (or the reverse), or a bad row (naming file and line).
    """
    name = spec.strip()
    if name in BUILTIN_SUITES:
        return Suite.build(name, BUILTIN_SUITES[name](), spec)
    fmt, sep, raw_path = name.partition(":")
    if not sep or fmt not in FILE_FORMATS:
        raise UserInputError(f"unknown suite {spec!r}; valid: {', '.join(VALID_SPECS)}")
    form = FILE_FORMATS[fmt]
    raw_path, selector = _split_selector(raw_path, form)
    path = _resolve(spec, fmt, raw_path, form.directory)
    stem = path.resolve().name if form.directory else path.stem
    loaded = form.load(path, stem, selector)
    if isinstance(loaded, Suite):
        return dataclasses.replace(loaded, source=spec)
    return Suite.build(stem, loaded, spec)
