"""Installs that just work: the built wheel in a fresh virtualenv, scripts/install.sh on a Python
that refuses `pip install` (PEP 668) and inside an active virtualenv, one clear line for a Python
without `venv`, and CI running the README's test command."""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL_SH = Path("scripts") / "install.sh"
SYSTEM_PYTHON = Path("/usr/bin/python3")
PIP_NOISE = "is ignored: it is neither a file nor a directory"


def _env(**extra: str) -> dict[str, str]:
    """The environment minus what would point a child at this checkout or this environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHON", "TORCH_INDEX"}
    }
    env.update(extra)
    return env


def _run(cmd: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=900, check=False
    )


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _venv_site_packages(venv: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return venv / "lib" / version / "site-packages"


def _copy_checkout(dest: Path) -> Path:
    """What a fresh clone of the working tree holds: tracked and untracked-not-ignored files."""
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: the install script is tested from a checkout")
    listed = _ok(_run(["git", "ls-files", "-z", "-co", "--exclude-standard"], REPO))
    for rel in filter(None, listed.split("\0")):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def _venv_seeing_this_environment(venv: Path) -> Path:
    """A fresh venv whose dependencies come from the running environment's site-packages, through
    a .pth file of paths (the running environment's own .pth hooks, an editable sycolab among
    them, are not processed; --system-site-packages would see the base interpreter's instead)."""
    _ok(_run([sys.executable, "-m", "venv", str(venv)], venv.parent))
    parent = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (_venv_site_packages(venv) / "_parent_env.pth").write_text("\n".join(parent) + "\n")
    return venv


# -- the wheel -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel built from this checkout installed (--no-deps)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(
        REPO / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    _ok(_run([*pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(src)], root))
    wheels = sorted((root / "dist").glob("sycolab-*.whl"))
    assert len(wheels) == 1, wheels
    venv = _venv_seeing_this_environment(root / "venv")
    venv_pip = [str(venv / "bin" / "python"), *pip[1:]]
    _ok(_run([*venv_pip, "install", "--no-deps", str(wheels[0])], root))
    return venv


def test_wheel_installs_the_package_with_its_data_files(wheel_venv: Path, tmp_path: Path) -> None:
    out = _ok(
        _run(
            [
                str(wheel_venv / "bin" / "python"),
                "-c",
                "import pathlib, sycolab; print(pathlib.Path(sycolab.__file__).parent)",
            ],
            tmp_path,
        )
    )
    installed = Path(out.strip())
    assert installed.is_relative_to(_venv_site_packages(wheel_venv)), installed
    data = [
        p.relative_to(REPO / "src" / "sycolab")
        for p in (REPO / "src" / "sycolab").rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.suffix not in {".py", ".pyc", ".md"}
    ]
    for required in ("evaluation/data/benign-v2.jsonl", "core/suites/data/facts.tsv", "py.typed"):
        assert Path(required) in data
    missing = [str(rel) for rel in data if not (installed / rel).is_file()]
    assert not missing, f"not in the wheel: {missing}"


@pytest.mark.parametrize(
    "model", ["mock:stubborn", pytest.param("smollm2", marks=pytest.mark.slow)]
)
def test_wheel_runs_sycolab_eval(wheel_venv: Path, tmp_path: Path, model: str) -> None:
    run = tmp_path / "run"
    proc = _run(
        [
            str(wheel_venv / "bin" / "sycolab"), "eval", "--model", model, "--suite", "arithmetic",
            "--limit", "5", "--no-progress", "--out", str(run),
        ],
        tmp_path,
    )
    _ok(proc)
    assert (run / "results.json").is_file() and (run / "report.html").is_file()
    assert len((run / "samples.jsonl").read_text().splitlines()) == 15  # 5 items x 3 protocols


# -- scripts/install.sh ------------------------------------------------------------------------


def _externally_managed(python: Path) -> bool:
    if not python.is_file():
        return False
    proc = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"], Path("/")
    )
    return proc.returncode == 0 and (Path(proc.stdout.strip()) / "EXTERNALLY-MANAGED").is_file()


@pytest.mark.slow
def test_install_sh_on_an_externally_managed_system_python(tmp_path: Path) -> None:
    """The README's two commands on Debian's python3, which refuses `pip install` (PEP 668)."""
    if not _externally_managed(SYSTEM_PYTHON):
        pytest.skip(f"{SYSTEM_PYTHON} is absent or not externally managed (PEP 668)")
    if _run([str(SYSTEM_PYTHON), "-c", "import venv, ensurepip"], tmp_path).returncode != 0:
        pytest.skip(f"{SYSTEM_PYTHON} has no venv/ensurepip (python3-venv not installed)")
    if _run([str(SYSTEM_PYTHON), "-m", "pip", "--version"], tmp_path).returncode == 0:
        refused = _run(
            [str(SYSTEM_PYTHON), "-m", "pip", "install", "--dry-run", "--no-deps", "sycolab"],
            tmp_path,
        )
        assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr
    clone = _copy_checkout(tmp_path / "clone")
    out = _ok(_run(["bash", str(INSTALL_SH), "--test"], clone, PYTHON=str(SYSTEM_PYTHON)))
    assert "creating .venv with /usr/bin/python3" in out
    assert out.strip().splitlines()[-1].startswith("run: .venv/bin/sycolab eval")
    venv_py = clone / ".venv" / "bin" / "python"
    version = _ok(_run([str(venv_py), "-c", "import sys; print(sys.base_prefix)"], clone))
    assert version.strip() == "/usr"
    _ok(_run([str(clone / ".venv" / "bin" / "sycolab"), "--help"], clone))
    # the README's commands, at test size: an eval, and pytest in the venv
    _ok(
        _run(
            [
                str(clone / ".venv" / "bin" / "sycolab"), "eval", "--model", "mock:stubborn",
                "--limit", "5", "--no-progress", "--out", str(tmp_path / "run"),
            ],
            clone,
        )
    )
    tests = _run(
        [str(venv_py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/test_stats.py"],
        clone,
    )
    assert tests.returncode == 0, tests.stdout[-2000:]
    # a second run reuses .venv and keeps its torch
    again = _ok(_run(["bash", str(INSTALL_SH)], clone, PYTHON=str(SYSTEM_PYTHON)))
    assert "reusing .venv" in again and "keeping torch" in again


def test_install_sh_installs_into_the_active_virtualenv(tmp_path: Path) -> None:
    """With $VIRTUAL_ENV set the script installs there, and links .venv to it for the README."""
    active = _venv_seeing_this_environment(tmp_path / "active")
    clone = _copy_checkout(tmp_path / "clone")
    proc = _run(["bash", str(INSTALL_SH)], clone, VIRTUAL_ENV=str(active))
    out = _ok(proc)
    assert f"installing into the active virtualenv {active}" in out
    assert "keeping torch" in out
    assert PIP_NOISE not in proc.stderr
    assert (clone / ".venv").resolve() == active.resolve()
    _ok(_run([str(clone / ".venv" / "bin" / "sycolab"), "--help"], clone))


@pytest.mark.parametrize("module", ["venv", "ensurepip"])
def test_install_sh_without_venv_module_says_one_line(tmp_path: Path, module: str) -> None:
    """A Python without `venv` (or Debian's without `ensurepip`): one line, exit 2, no .venv."""
    block = tmp_path / "block" / module
    block.mkdir(parents=True)
    (block / "__init__.py").write_text(
        f"raise ModuleNotFoundError('No module named {module!r}', name={module!r})\n"
    )
    wrapper = tmp_path / "python3"
    wrapper.write_text(
        f'#!/bin/sh\nPYTHONPATH={block.parent} exec {sys.executable} "$@"\n'
    )
    wrapper.chmod(0o755)
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / INSTALL_SH, project / INSTALL_SH)
    proc = _run(["bash", str(INSTALL_SH)], project, PYTHON=str(wrapper))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: {wrapper} has no {module} module: install python3-venv (Debian/Ubuntu) "
        "or use another Python 3.11+ (PYTHON=...)"
    )
    assert not (project / ".venv").exists()


def test_install_sh_refuses_a_python_older_than_3_11_or_missing(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / INSTALL_SH, project / INSTALL_SH)
    old = tmp_path / "python3"
    old.write_text('#!/bin/sh\ncase "$1" in -V) echo "Python 3.10.12" ;; *) exit 1 ;; esac\n')
    old.chmod(0o755)
    for python, expected in [
        (str(old), f"{old} runs Python 3.10.12; sycolab needs Python 3.11+"),
        ("no-such-python", "PYTHON=no-such-python: no such interpreter"),
    ]:
        proc = _run(["bash", str(INSTALL_SH)], project, PYTHON=python)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
        assert expected in proc.stderr


# -- CI runs the README's test command ---------------------------------------------------------


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.+?)\n```", quick)
    assert len(commands) >= 2, "Quick start holds two commands"
    install, test = (part.strip() for part in commands[1].split("&&"))
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert install in ci and test in ci, (install, test)
