"""``--help`` of a recipe: SpeechBrain's flags, then the YAML's own keys.

SpeechBrain's argument parser knows only its generic run options; the
options a user changes most (``--max_steps``, ``--kd_weight``, ...) are the
keys of the recipe's YAML, given as ``--key=value`` overrides. This lists
them with their defaults and the comment written above or beside each.

Authors
 * speechbrain-kd contributors 2026
"""

import re
import sys
import textwrap

import speechbrain as sb

HELP_FLAGS = ("-h", "--help")
INDENT = {"initial_indent": " " * 6, "subsequent_indent": " " * 6}
_KEY = re.compile(r"^([A-Za-z][\w]*):(.*)$")


def yaml_options(text):
    """The top-level keys of a recipe YAML, their defaults and comments.

    Arguments
    ---------
    text : str
        The YAML file's text.

    Returns
    -------
    list of tuple
        ``(key, default, comment)``: the default as written (the first
        line of a nested value, ``...`` after it), the comment the lines
        just above the key (a block stops at a blank line) and its own
        line's comment.

    Example
    -------
    >>> text = (
    ...     "# Training\\n"
    ...     "# steps of the budget\\n"
    ...     "max_steps: null\\n"
    ...     "batch_size: 16  # per step\\n"
    ...     "__set_seed: !apply:f []\\n"
    ...     "opts:\\n"
    ...     "    lr: 1\\n"
    ... )
    >>> for option in yaml_options(text):
    ...     print(option)
    ('max_steps', 'null', 'Training steps of the budget')
    ('batch_size', '16', 'per step')
    ('opts', '...', '')
    """
    options, comments = [], []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            comments = []
        elif line.startswith("#"):
            comments.append(stripped.lstrip("#").strip())
        elif match := _KEY.match(line):
            value, _, inline = match.group(2).partition(" #")
            comment = " ".join(
                c for c in (*comments, inline.strip()) if c and set(c) != {"#"}
            )
            options.append((match.group(1), value.strip() or "...", comment))
            comments = []
    return options


def options_help(hparams_file):
    """The help text of a recipe YAML's keys.

    Arguments
    ---------
    hparams_file : str
        The recipe's YAML.

    Returns
    -------
    str

    Example
    -------
    >>> from speechbrain_kd.paths import hparams_folder
    >>> import os
    >>> text = options_help(os.path.join(hparams_folder(), "train.yaml"))
    >>> "--max_steps=null" in text
    True
    """
    with open(hparams_file, encoding="utf-8") as fin:
        options = yaml_options(fin.read())
    lines = [
        f"options of {hparams_file} (override with --key=value; "
        "!PLACEHOLDER: required):"
    ]
    for key, default, comment in options:
        lines.append(f"  --{key}={default}")
        if comment:
            lines.append(textwrap.fill(comment, 79, **INDENT))
    return "\n".join(lines)


def print_recipe_help(argv, default_hparams):
    """Prints the recipe's help and exits, if ``argv`` asks for it.

    Arguments
    ---------
    argv : list of str
        The command-line arguments.
    default_hparams : str
        The YAML whose keys are listed when ``argv`` names none.
    """
    if not any(flag in argv for flag in HELP_FLAGS):
        return
    named = [arg for arg in argv if arg.endswith((".yaml", ".yml"))]
    try:
        sb.parse_arguments(["--help"])
    except SystemExit:
        pass
    print()
    print(options_help(named[0] if named else default_hparams))
    sys.exit(0)
