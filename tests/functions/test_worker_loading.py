"""Every function passes the Python worker's load-time checks.

``app.get_functions()`` indexes the app, but the annotations are checked later, by the
Functions Python worker (``azure_functions_worker/functions.py``, ``add_indexed_function``),
which is not on PyPI. This test repeats those checks with the converters the worker asks
(the ``azure.functions`` binding registry). ``func.Out[list[str]]`` indexes fine and then
fails to load in Azure ("binding msgs has invalid non-type annotation"): ``list[str]`` is
neither a class nor a generic to the worker; the queue converter takes typing.List[str]."""

from __future__ import annotations

import inspect
import operator
import typing

import azure.functions as func
import pytest
from azure.functions._thirdparty import typing_inspect

from tests.functions.conftest import FUNCTIONS

IN, OUT, INOUT = 0, 1, 2  # azure.functions.decorators.core.BindingDirection


def converter(binding_type: str) -> typing.Any:
    return func.get_binding_registry().get(binding_type)


def load_problems(fn: typing.Any) -> list[str]:
    """What the worker's ``add_indexed_function`` would refuse (empty: it loads)."""
    user = fn.get_user_function()
    params = dict(inspect.signature(user).parameters)
    hints = typing.get_type_hints(user)
    bound, returns, problems = {}, None, []
    for binding in fn.get_bindings():
        if binding.direction == INOUT:
            problems.append(f"{binding.name}: inout bindings are not supported")
        elif binding.name == "$return":
            returns = binding.type
        else:
            bound[binding.name] = binding
    if set(params) != set(bound):
        problems.append(f"parameters {sorted(params)} != bindings {sorted(bound)}")
        return problems
    for name, binding in bound.items():
        anno = hints.get(name)
        if anno is None:
            continue
        origin = typing_inspect.get_origin(anno) if typing_inspect.is_generic_type(anno) else None
        is_out = isinstance(origin, type) and origin.__name__ == "Out"
        pytype = anno
        if is_out:
            args = typing_inspect.get_args(anno)
            pytype = args[0]
            if isinstance(pytype, tuple) and typing_inspect.is_generic_type(pytype[0]):
                pytype = operator.getitem(pytype[0], *pytype[1:])
        if not isinstance(pytype, type) and not typing_inspect.is_generic_type(pytype):
            problems.append(f"{name}: invalid non-type annotation {anno!r}")
            continue
        if (binding.direction == OUT) != is_out:
            problems.append(f"{name}: direction and func.Out annotation disagree")
            continue
        kind = "generic" if pytype in (str, bytes) else binding.type
        checker = converter(kind)
        if checker is None:
            problems.append(f"{name}: no converter for binding type {kind!r}")
            continue
        ok = (
            checker.check_output_type_annotation(pytype)
            if is_out
            else checker.check_input_type_annotation(pytype)
        )
        if not ok:
            problems.append(f"{name}: {binding.type} binding does not accept {anno!r}")
    result = hints.get("return")
    if returns is not None and not converter(returns).check_output_type_annotation(result):
        problems.append(f"return annotation {result!r} does not fit {returns}")
    return problems


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_the_worker_would_load_the_function(name):
    assert load_problems(FUNCTIONS[name]) == []


def test_the_check_catches_a_builtin_generic_queue_output():
    """The mistake this guards against, reproduced on a throwaway app."""
    app = func.FunctionApp()

    @app.route(route="x")
    @app.queue_output(arg_name="msgs", queue_name="q", connection="AzureWebJobsStorage")
    def broken(req: func.HttpRequest, msgs: func.Out[list[str]]) -> func.HttpResponse:
        return func.HttpResponse("")

    (fn,) = app.get_functions()
    (problem,) = load_problems(fn)
    assert problem.startswith("msgs: invalid non-type annotation") and "list[str]" in problem
