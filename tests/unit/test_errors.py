"""One error root; a bad parameter reads as the parameter to Python callers and as the flag on
the command line."""

from __future__ import annotations

import pytest

from sycolab.core.errors import BackendError, SycolabError, UserInputError, flag_error
from sycolab.engine.http_retry import OpenAIRequestError
from sycolab.mitigations.data import YieldTooLowError
from sycolab.server import RequestError
from sycolab.server._batcher import OverloadedError


@pytest.mark.parametrize("cls", [UserInputError, BackendError, OpenAIRequestError,
                                 YieldTooLowError, RequestError, OverloadedError])
def test_every_deliberate_error_has_the_one_root(cls: type[Exception]) -> None:
    assert issubclass(cls, SycolabError)


def test_parameter_for_python_flag_for_the_cli() -> None:
    err = UserInputError("expected a positive integer", param="batch_size", value=0)
    assert str(err) == "batch_size=0: expected a positive integer"
    assert err.cli_message() == "--batch-size 0: expected a positive integer"
    assert err.cli_message({"batch_size": "-b"}) == "-b 0: expected a positive integer"
    bare = UserInputError("needs --multiplier M", param="steer")
    assert (str(bare), bare.cli_message()) == ("steer: needs --multiplier M",
                                               "--steer: needs --multiplier M")
    assert UserInputError("samples.jsonl:3: bad").cli_message() == "samples.jsonl:3: bad"


def test_flag_error_names_the_parameter_when_the_flag_is_one() -> None:
    err = flag_error("--max-examples", "need at least 2", 1)
    assert (err.param, err.value, err.cli_message()) == ("max_examples", 1,
                                                         "--max-examples 1: need at least 2")
    odd = flag_error("--model hf:", "not a model folder", "./x")
    assert odd.param is None and str(odd) == "--model hf: ./x: not a model folder"


def test_the_cli_spells_the_flag() -> None:
    from typer.testing import CliRunner

    from sycolab.cli.app import app

    res = CliRunner().invoke(app, ["eval", "--model", "mock:stubborn", "--batch-size", "0"])
    assert res.exit_code == 2
    assert res.output.strip().splitlines()[-1].startswith("error: --batch-size")
