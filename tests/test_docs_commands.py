"""Every shell command of the documentation fits the code.

The commands of the shell blocks of ``README.md`` and ``docs/*.md``
(fenced ``bash``, ``sh``, ``console`` or with no language) are checked
statically, nothing trains: the script or console command exists, each
option is one its parser takes or a key of the YAML it overrides, its
``!include:`` files, grid and make target exist, and so do the inputs a
fresh clone has (``../shared/...``, files of ``hparams/``). Outputs
(``results/...``, ``data/sample_corpus`` made by an earlier command) and
placeholders (``<run>``, ``/data/VoiceBank-DEMAND``, ``my/speech``) are
not inputs of a fresh clone and are left alone. One case per command,
named ``page:line``.
"""

import argparse
import contextlib
import functools
import importlib
import importlib.util
import inspect
import io
import re
import runpy
import shlex
import sys
from pathlib import Path
from unittest import mock

import pytest
import speechbrain
from conftest import REPO, SHARED_DATA
from torch.distributed.run import get_args_parser as torchrun_parser

import speechbrain_kd.cli.grid as grid_cli
import speechbrain_kd.cli.score_returned as score_returned_cli
from speechbrain_kd.distill.recipe import method_settings
from speechbrain_kd.grid.config import METHODS, find_grid_file, load_grid_part
from speechbrain_kd.grid.recipes import recipe_command
from speechbrain_kd.recipe_help import yaml_options

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL_BLOCKS = ("bash", "sh", "console", "")
PROGRAMS = re.compile(r"python3?|torchrun|make|sbkd-[\w-]+")
# <run>, <folder>, <A's address>: one word, whatever it holds
PLACEHOLDER = re.compile(r"<[^<>\n]*>")
SEPARATORS = ("&&", "||", ";", "|", "&")
ENV_ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=")
INCLUDE = re.compile(r"!include:([^\s\]}]+)")
CLASS = re.compile(r"!(?:new|name|apply):([\w.]+)")
# Inputs a fresh clone has: the shared folder beside the checkout (where
# the tests find it, SHARED_DATA's parent), and the checkout's own files
# (``results/``, ``data/`` are outputs)
SHARED_PATH = re.compile(r"(?<![\w.])\.\./shared/([\w./-]*\w)")
REPO_PATH = re.compile(
    r"(?<![\w./$-])((?:hparams|recipes|benchmarks|tests)/[\w./-]*\w)"
)
# The flags sbkd-grid takes out of its command line before the rest is
# read as overrides of the grid file (checked against its source below)
GRID_FLAGS = ("summary_only", "executor")
CONSOLE_SCRIPTS = {
    name: (module, function)
    for name, module, function in re.findall(
        r'"(sbkd-[\w-]+) = ([\w.]+):(\w+)"', (REPO / "setup.py").read_text()
    )
}


def shell_lines(text):
    """The logical lines of the shell blocks of a page.

    Arguments
    ---------
    text : str
        The page's markdown.

    Returns
    -------
    list of tuple
        ``(line, command)``: the number of the command's first line, and
        the command with its continuation lines (trailing ``\\``) joined;
        in a ``console`` block, the lines of a ``$`` prompt only.

    Example
    -------
    >>> shell_lines("a\\n```bash\\nls -l \\\\\\n  x  # c\\n```\\nls\\n")
    [(3, 'ls -l    x  # c')]
    """
    found, language, first, joined = [], None, None, ""
    for number, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"\s*```\s*([\w-]*)", line)
        if fence:
            language = fence.group(1) if language is None else None
            first, joined = None, ""
            continue
        if language not in SHELL_BLOCKS:
            continue
        if first is None:
            if language == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            first = number
        if line.rstrip().endswith("\\"):
            joined += line.rstrip()[:-1] + " "
        else:
            found.append((first, joined + line))
            first, joined = None, ""
    return found


def doc_commands():
    """The commands of the documentation that run a program of the project.

    A logical line is read as the shell reads it (quotes, ``#``
    comments); it may hold several commands (``&&``, ``;``, ``|``). Leading
    environment settings (``OMP_NUM_THREADS=1``) are dropped. Commands of
    other programs (``ray``, ``pip``, ``srun``) are not the project's.

    Returns
    -------
    list of tuple
        ``(place, words)``: ``page:line`` and the command's words, the
        program first.
    """
    commands = []
    for page in PAGES:
        name = page.relative_to(REPO).as_posix()
        for line, text in shell_lines(page.read_text()):
            text = PLACEHOLDER.sub("PLACEHOLDER", text)
            first = [w for w in text.split() if not ENV_ASSIGNMENT.match(w)]
            if not first or not PROGRAMS.fullmatch(first[0]):
                continue  # not a command (a file tree), or not ours
            try:
                words = shlex.split(text, comments=True)
            except ValueError as error:  # a quote left open
                words = ["unparsable", str(error)]
            segment = []
            for word in [*words, ";"]:
                if word not in SEPARATORS:
                    segment.append(word)
                    continue
                while segment and ENV_ASSIGNMENT.match(segment[0]):
                    segment.pop(0)
                if segment and (
                    PROGRAMS.fullmatch(segment[0]) or segment[0] == "unparsable"
                ):
                    commands.append((f"{name}:{line}", segment))
                segment = []
    return commands


COMMANDS = doc_commands()


class _Parsed(Exception):
    """Raised where a program would parse its command line.

    Arguments
    ---------
    parser : argparse.ArgumentParser or None
        The parser; None for ``sb.parse_arguments``.
    passes_on : bool
        Whether unknown options are kept (``parse_known_args``), for the
        program to hand on.
    """

    def __init__(self, parser=None, passes_on=False):
        super().__init__()
        self.parser = parser
        self.passes_on = passes_on


def _raise(passes_on):
    def parse(parser, *args, **kwargs):
        raise _Parsed(parser, passes_on)

    return parse


def _speechbrain_parse(*args, **kwargs):
    raise _Parsed(None, True)


@functools.cache
def first_parse(program):
    """How a program reads its command line, found by starting it with
    ``--help`` and stopping it where it parses (nothing runs after that).

    Arguments
    ---------
    program : str
        A script of the checkout (``recipes/train.py``) or a console
        command of ``setup.py`` (``sbkd-mix``).

    Returns
    -------
    _Parsed or None
        Its parser (``parser`` None: ``sb.parse_arguments``, a YAML and
        its overrides); None when it parses no options.
    """
    if program in CONSOLE_SCRIPTS:
        module, function = CONSOLE_SCRIPTS[program]

        def start():
            getattr(importlib.import_module(module), function)()

    else:

        def start():
            runpy.run_path(str(REPO / program), run_name="__main__")

    parser_class = argparse.ArgumentParser
    with contextlib.ExitStack() as stack:
        for patch in (
            mock.patch.object(parser_class, "parse_args", _raise(False)),
            mock.patch.object(parser_class, "parse_known_args", _raise(True)),
            mock.patch.object(
                speechbrain, "parse_arguments", _speechbrain_parse
            ),
            mock.patch.object(sys, "argv", [program, "--help"]),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            stack.enter_context(patch)
        try:
            start()
        except _Parsed as parsed:
            return parsed
        except SystemExit:  # its own usage text: no parser
            pass
    return None


@functools.cache
def speechbrain_options():
    """The run options of ``sb.parse_arguments`` (``--device``, ...)."""
    with mock.patch.object(
        argparse.ArgumentParser, "parse_known_args", _raise(True)
    ):
        try:
            speechbrain.parse_arguments(["hparams.yaml"])
        except _Parsed as parsed:
            return option_names(parsed.parser)
    raise AssertionError("sb.parse_arguments parses with no argparse parser")


def option_names(parser):
    """The option strings of an argparse parser (``--output``, ...)."""
    return {
        name
        for action in parser._actions
        for name in action.option_strings
        if name.startswith("--")
    }


@functools.cache
def yaml_keys(path):
    """The top-level keys of a YAML file, as a recipe's ``--help`` lists
    them (``speechbrain_kd.recipe_help.yaml_options``)."""
    return {key for key, _, _ in yaml_options(path.read_text())}


def _error(stream):
    """The message of an argparse error (its usage and program left out)."""
    return stream.getvalue().strip().splitlines()[-1].split(" error: ", 1)[-1]


def _key(word):
    """``key`` of ``--key=value`` or ``--key``; None for other words."""
    if not word.startswith("--"):
        return None
    return word[2:].split("=", 1)[0]


def _value(args, key):
    """The value of ``--key=value`` in ``args``, else None."""
    values = [w.split("=", 1)[1] for w in args if _key(w) == key and "=" in w]
    return values[-1] if values else None


def check(words):
    """What in a command does not fit the code.

    Arguments
    ---------
    words : list of str
        The command, its program first.

    Returns
    -------
    list of str
        One line per problem; empty when the command fits.
    """
    program, *args = words
    if program == "unparsable":
        return [f"the shell cannot split it: {args[0]}"]
    # ``[--quantize=True]``: an optional option, shown in brackets
    args = [
        w[1:-1] if w.startswith("[-") and w.endswith("]") else w for w in args
    ]
    problems = check_inputs(args)
    if program == "make":
        return problems + check_make(args)
    if program in CONSOLE_SCRIPTS:
        return problems + check_console(program, args)
    if program.startswith("sbkd-"):
        return problems + [
            f"no console command {program} in setup.py: "
            f"{', '.join(sorted(CONSOLE_SCRIPTS))}"
        ]
    if program == "torchrun":
        torchrun_problems, args = check_torchrun(args)
        if torchrun_problems:
            return problems + torchrun_problems
    elif args[:1] == ["-m"]:
        if importlib.util.find_spec(args[1]) is None:
            problems.append(f"no module {args[1]}")
        return problems
    if not args:
        return problems + ["no script given"]
    return problems + check_script(args[0], args[1:])


def check_inputs(args):
    """The inputs of a fresh clone a command names that do not exist:
    ``../shared/...`` (the shared folder beside the checkout) and files of
    the checkout (``hparams/...``, ``recipes/...``)."""
    text = " ".join(args)
    problems = []
    for match in SHARED_PATH.finditer(text):
        if not (SHARED_DATA.parent / match.group(1)).exists():
            problems.append(
                f"{match.group(0)}: not in the shared folder "
                f"{SHARED_DATA.parent}"
            )
    for match in REPO_PATH.finditer(text):
        if not (REPO / match.group(1)).exists():
            problems.append(f"{match.group(1)}: no such file in the checkout")
    return problems


def check_make(args):
    """The targets of ``make`` not in the Makefile."""
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", makefile, re.M))
    return [
        f"make {arg}: no such target; targets: {', '.join(sorted(targets))}"
        for arg in args
        if not arg.startswith("-") and "=" not in arg and arg not in targets
    ]


def check_torchrun(args):
    """Checks torchrun's own options; returns the problems and the
    script's command line (the script, then its arguments)."""
    parser = torchrun_parser()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            parsed = parser.parse_args(args)
        except SystemExit:
            return [f"torchrun: {_error(err)}"], []
    own = args[: len(args) - len(parsed.training_script_args) - 1]
    names = option_names(parser)
    problems = [
        f"{word}: not an option of torchrun"
        for word in own
        if word.startswith("-") and word.split("=", 1)[0] not in names
    ]
    return problems, [parsed.training_script, *parsed.training_script_args]


def check_script(script, args):
    """Checks ``python <script> <args>`` (a recipe, a benchmark)."""
    if not (REPO / script).is_file():
        folder = (REPO / script).parent
        known = sorted(p.name for p in folder.glob("*.py"))
        return [f"no script {script}; {folder.name}/ holds {', '.join(known)}"]
    parsed = first_parse(script)
    if parsed is None:
        return [f"{script} parses no options: give it a check here"]
    if parsed.parser is None:
        return check_recipe(script, args)
    return check_argparse(parsed, args)


def check_argparse(parsed, args):
    """Checks a command line against the argparse parser that reads it:
    it parses (required options, choices, types), and every option is
    one of the parser's by its full name; a parser that keeps unknown
    options for another program takes those its help names."""
    parser = parsed.parser
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            _, rest = parser.parse_known_args(args)
        except SystemExit:
            return [f"{parser.prog}: {_error(err)}"]
    names = option_names(parser)
    if parsed.passes_on:  # e.g. recipes/evaluate.py to sbkd-score
        names |= set(re.findall(r"--[\w-]+", parser.format_help()))
    elif rest:
        return [f"{parser.prog}: unrecognized arguments: {' '.join(rest)}"]
    return [
        f"{word.split('=', 1)[0]}: not an option of {parser.prog}; its "
        f"options: {', '.join(sorted(names))}"
        for word in args
        if word.startswith("--") and word.split("=", 1)[0] not in names
    ]


def check_recipe(script, args):
    """Checks a recipe's command line: its YAML, then ``--key=value``
    overrides of that YAML's keys or SpeechBrain's run options."""
    if not args or args[0].startswith("-"):
        return [f"{script} takes its hparams YAML first"]
    hparams = REPO / args[0]
    if not hparams.is_file():
        return [f"no hparams file {args[0]}"]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            speechbrain.parse_arguments(args)
        except SystemExit:
            return [f"sb.parse_arguments: {_error(err)}"]
    keys = set(yaml_keys(hparams))
    problems = check_yaml_values(args[1:], hparams.parent)
    # A recipe that does not use the run options (export.py) takes them
    # and drops them: --device would be silently ignored there
    if "run_opts" in (REPO / script).read_text():
        keys |= {name[2:] for name in speechbrain_options()}
    # A recipe including a KD method file (distill.yaml) takes the
    # method's settings as options too (distill_arguments)
    method = ""
    if "kd_method" in keys:
        default = dict((k, v) for k, v, _ in yaml_options(hparams.read_text()))
        chosen = _value(args, "kd_method") or default["kd_method"]
        include = INCLUDE.match(chosen)
        if include and "$" in include.group(1):
            # a method file of the user's own (made in an earlier step of
            # the page): its settings cannot be read, so the keys that are
            # not the recipe's are taken as that file's
            return problems
        path = include and hparams.parent / include.group(1)
        if path and path.is_file():
            keys |= set(method_settings(str(path)))
            method = f", nor a setting of {include.group(1)}"
    for word in args[1:]:
        key = _key(word)
        if key is not None and key not in keys:
            problems.append(
                f"--{key}: not a key of {args[0]} (nor a SpeechBrain run "
                f"option{method}); its keys: {', '.join(sorted(keys))}"
            )
    return problems


def check_yaml_values(args, folder):
    """The ``!include:`` files of override values that do not exist
    (relative to ``folder``, the YAML's) and their ``!new:`` classes that
    cannot be imported."""
    problems = []
    for word in args:
        value = word.split("=", 1)[1] if "=" in word else word
        for path in INCLUDE.findall(value):
            # $PWD/my_models/...: a file of the user's, made in an earlier
            # step of the page, not a file of the checkout
            if "$" not in path and not (folder / path).is_file():
                problems.append(
                    f"{word}: no file {path} in {folder.relative_to(REPO)}/"
                )
        for target in CLASS.findall(value):
            module, _, name = target.rpartition(".")
            # a module that is not installed is the user's own code, found
            # through --code_path (conv_mask.ConvMask)
            if importlib.util.find_spec(module.split(".")[0]) is None:
                continue
            try:
                getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError) as error:
                problems.append(f"{word}: {error}")
    return problems


def check_console(program, args):
    """Checks a console command of ``setup.py``."""
    parsed = first_parse(program)
    if parsed is not None and parsed.parser is not None:
        return check_argparse(parsed, args)
    checks = {
        "sbkd-grid": check_grid,
        "sbkd-score-returned": check_score_returned,
    }
    if program not in checks:
        return [f"{program} parses no options with argparse: check it here"]
    return checks[program](args)


def grid_file(args):
    """The grid file of a grid command's first argument (a name of
    ``hparams/experiment`` or a path), found as the command finds it."""
    positional = [word for word in args if not word.startswith("-")]
    if not positional:
        raise FileNotFoundError("no grid given")
    return find_grid_file(positional[0]), positional[0]


def check_grid(args):
    """Checks ``sbkd-grid GRID --key=value ...``: the grid exists, each
    key is one of its file, and the grid loads with the overrides and
    passes its checks (``load_grid_part``), as ``sbkd-grid`` loads it."""
    try:
        path, name = grid_file(args)
    except FileNotFoundError as error:
        return [str(error)]
    keys = yaml_keys(REPO / path)
    problems = [
        f"--{_key(word)}: not a key of the grid {name}; its keys: "
        f"{', '.join(sorted(keys))}"
        for word in args
        if _key(word) not in (None, *GRID_FLAGS, *keys)
    ]
    if problems:
        return problems
    overrides = [w for w in args if w != name and _key(w) not in GRID_FLAGS]
    _, _, overrides = speechbrain.parse_arguments([path, *overrides])
    try:
        load_grid_part(path, overrides)
    except Exception as error:  # the grid's own message names the setting
        return [f"the grid {name} does not load: {error!r}"]
    return []


def check_score_returned(args):
    """Checks ``sbkd-score-returned GRID --key=value ...``: the grid
    exists; each key is an option of its usage (``--jobs``) or an
    override of the recipes the grid's runs ran (their YAMLs' keys and
    SpeechBrain's run options), which it reruns with them."""
    try:
        grid_file(args)
    except FileNotFoundError as error:
        return [str(error)]
    usage = score_returned_cli.__doc__.split("Usage", 1)[1].split("\n\n")[1]
    keys = set(re.findall(r"--(\w+)", usage))
    keys |= {name[2:] for name in speechbrain_options()}
    for hparams in {recipe_command(method, {})[2] for method in METHODS}:
        keys |= yaml_keys(Path(hparams))
    return [
        f"--{_key(word)}: not an option of sbkd-score-returned nor a key "
        f"of its recipes; options: {', '.join(sorted(keys))}"
        for word in args
        if _key(word) not in (None, *keys)
    ]


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    """The documentation's commands run from the repository root."""
    monkeypatch.chdir(REPO)


@pytest.mark.parametrize(
    "place, words", COMMANDS, ids=[place for place, _ in COMMANDS]
)
def test_doc_command_fits_the_code(place, words):
    problems = check(words)
    assert not problems, f"{place}: {shlex.join(words)}\n" + "\n".join(problems)


def test_the_documentation_shows_commands_of_every_kind():
    """The reader of the pages finds them all (none lost to parsing)."""
    programs = {words[0] for _, words in COMMANDS}
    scripts = {
        words[1].split("/")[0]
        for _, words in COMMANDS
        if words[0].startswith("python")
    }
    assert {"make", "torchrun", "sbkd-grid", "sbkd-mix"} <= programs
    assert {"recipes", "benchmarks"} <= scripts


def test_grid_flags_are_those_sbkd_grid_takes_out():
    source = inspect.getsource(grid_cli.run)
    assert all(f'"--{flag}' in source for flag in GRID_FLAGS)
