"""Every ``tools/...`` command line in README.md and docs/*.md parses.

Command lines are taken from fenced code blocks (``\\`` continuations
joined, ``#`` comments dropped) and from inline code spans. Each is checked
with the tool's own argparse parser: the script runs as ``__main__`` with
``ArgumentParser.parse_args`` patched to stop right after parsing, so nothing
is executed. The launchers map to the script they start
(``dist_train.sh CONFIG GPUS ARGS`` -> ``train.py CONFIG --launcher pytorch
ARGS``, ...). Usage notation in the tables is made concrete first: ``[--x V]``
-> ``--x V``, ``[PLACEHOLDER]`` dropped, ``{a,b}`` and ``a|b`` -> ``a``,
``...`` dropped, an UPPER-CASE placeholder after an
int/float option -> ``1``. A bare ``tools/x.py`` mention only has to exist.
"""
import argparse
import contextlib
import glob
import io
import os
import re
import runpy
import shlex
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ['README.md'] + sorted(
    os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, 'docs', '*.md')))
TOOL = re.compile(r'^(?:\./)?(tools/[\w./-]+\.(?:py|sh))$')
SHELL_OPS = {'&&', '||', '|', ';', '>', '>>', '2>', '&', '2>&1'}
# launcher -> (script it runs, number of its own positionals, what it keeps
# of them for the script, launcher flag)
LAUNCHERS = {
    'tools/dist_train.sh': ('tools/train.py', 2, [0], ['--launcher', 'pytorch']),
    'tools/dist_test.sh': ('tools/test.py', 3, [0, 1], ['--launcher', 'pytorch']),
    'tools/slurm_train.sh': ('tools/train.py', 3, [2], ['--launcher', 'slurm']),
    'tools/slurm_test.sh': ('tools/test.py', 4, [2, 3], ['--launcher', 'slurm']),
}


def _logical_lines(text):
    """(line number, text) of code lines and inline code spans."""
    out, in_block, buf, start = [], False, '', 0
    for no, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith('```'):
            in_block = not in_block
            continue
        if in_block:
            if not buf:
                start = no
            if line.rstrip().endswith('\\'):
                buf += line.rstrip()[:-1] + ' '
                continue
            out.append((start, buf + line))
            buf = ''
        else:
            out += [(no, span) for span in re.findall(r'`([^`]+)`', line)]
    return out


def _commands(tokens):
    """(tool, args) for every tool path in a token list (recursing into
    quoted strings such as ``sbatch --wrap "python tools/x.py ..."``)."""
    found = []
    for i, tok in enumerate(tokens):
        if re.search(r'\s', tok) and 'tools/' in tok:
            try:
                found += _commands(shlex.split(tok, comments=True))
            except ValueError:
                pass
            continue
        m = TOOL.match(tok)
        if m:
            args = []
            for a in tokens[i + 1:]:
                if a in SHELL_OPS:
                    break
                args.append(a)
            found.append((m.group(1), args))
    return found


def collect():
    """All (doc:line, tool, args) command lines of the docs."""
    cases = []
    for doc in DOCS:
        with open(os.path.join(REPO, doc), encoding='utf-8') as f:
            text = f.read()
        for no, line in _logical_lines(text):
            if 'tools/' not in line:
                continue
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError:  # unbalanced quote in prose
                tokens = line.split()
            for tool, args in _commands(tokens):
                cases.append((f'{doc}:{no}', tool, args))
    return cases


def _concrete(args):
    """Usage notation -> a concrete argument list."""
    out, group = [], None
    for a in args:
        if group is None and a.startswith('['):
            group = []
        if group is not None:  # inside [ ... ]
            group.append(a)
            if a.endswith(']'):
                inner = [t.replace('[', '').replace(']', '') for t in group]
                if inner[0].startswith('-'):  # [--opt VALUE]: kept
                    out += [t for t in inner if t]
                group = None  # [CHECKPOINT], [args]: an optional placeholder
            continue
        m = re.fullmatch(r'\{([^,}]+),[^}]*\}', a)
        if m:
            a = m.group(1)
        if re.fullmatch(r'[\w.-]+(\|[\w.-]+)+', a):  # auto|cpu|cuda
            a = a.split('|')[0]
        if a and a != '...':
            out.append(a)
    return out


class _Parsed(Exception):
    pass


@contextlib.contextmanager
def _stop_after_parsing():
    """Make parse_args / parse_known_args raise _Parsed once they succeed."""
    orig_args = argparse.ArgumentParser.parse_args
    orig_known = argparse.ArgumentParser.parse_known_args
    depth = [0]

    def parse_args(self, args=None, namespace=None):
        depth[0] += 1
        try:
            ns = orig_args(self, args, namespace)
        finally:
            depth[0] -= 1
        raise _Parsed(ns)

    def parse_known_args(self, args=None, namespace=None):
        res = orig_known(self, args, namespace)
        if depth[0]:
            return res
        raise _Parsed(res)

    argparse.ArgumentParser.parse_args = parse_args
    argparse.ArgumentParser.parse_known_args = parse_known_args
    try:
        yield
    finally:
        argparse.ArgumentParser.parse_args = orig_args
        argparse.ArgumentParser.parse_known_args = orig_known


def _fill_numeric_placeholders(parser_actions, args):
    """UPPER-CASE placeholders in the values of int/float options -> '1'
    (as many as the option takes: ``--size H W`` -> ``--size 1 1``)."""
    out = list(args)
    for i, a in enumerate(out):
        act = parser_actions.get(a)
        if act is None or act.type not in (int, float):
            continue
        n = act.nargs if isinstance(act.nargs, int) else (
            1 if act.nargs in (None, '?') else len(out))
        for j in range(i + 1, min(i + 1 + n, len(out))):
            if not re.fullmatch(r'[A-Z][A-Z_]*', out[j]):
                break
            out[j] = '1'
    return out


def parse_with_tool(tool, args):
    """Run ``tool`` up to its argument parsing. Returns (ok, message)."""
    path = os.path.join(REPO, tool)
    actions = {}
    orig_init = argparse.ArgumentParser._add_action

    def record(self, action):  # option string -> action, for placeholders
        for s in action.option_strings:
            actions[s] = action
        return orig_init(self, action)

    err = io.StringIO()
    old_argv = sys.argv
    argparse.ArgumentParser._add_action = record
    try:
        for attempt in range(2):
            sys.argv = [path] + (args if attempt == 0 else
                                 _fill_numeric_placeholders(actions, args))
            err.seek(0)
            err.truncate()
            try:
                with _stop_after_parsing(), contextlib.redirect_stderr(err), \
                        contextlib.redirect_stdout(io.StringIO()):
                    runpy.run_path(path, run_name='__main__')
            except _Parsed:
                return True, ''
            except SystemExit as e:
                if attempt == 0 and 'invalid' in err.getvalue():
                    continue  # retry with numeric placeholders filled
                return False, f'exit {e.code}: {err.getvalue().strip()}'
            return False, 'the tool never parsed its arguments'
    finally:
        sys.argv = old_argv
        argparse.ArgumentParser._add_action = orig_init
    return False, err.getvalue().strip()


CASES = collect()


def test_docs_have_tool_commands():
    tools = {t for _, t, a in CASES if a}
    assert {'tools/train.py', 'tools/test.py', 'tools/benchmark.py',
            'tools/model_converters/pico2mm.py'} <= tools, tools


@pytest.mark.parametrize('where,tool,args', CASES,
                         ids=[f'{w} {t}' for w, t, _ in CASES])
def test_doc_command_is_accepted_by_the_tool(where, tool, args):
    assert os.path.isfile(os.path.join(REPO, tool)), \
        f'{where}: {tool} does not exist'
    args = _concrete(args)
    if not args:
        return  # a mention, not a command line
    if tool in LAUNCHERS:
        script, n_pos, keep, flag = LAUNCHERS[tool]
        assert len(args) >= n_pos, f'{where}: {tool} needs {n_pos} ' \
            f'positional arguments, got {args}'
        tool, args = script, [args[i] for i in keep] + flag + args[n_pos:]
    ok, msg = parse_with_tool(tool, args)
    assert ok, f'{where}: {tool} {" ".join(args)} -> {msg}'


def test_the_checker_rejects_a_bad_command():
    ok, msg = parse_with_tool('tools/vis/show_tracks.py',
                              ['TRACKS.npz', '--out', 'tracks.gif'])
    assert not ok and '--out' in msg
    assert parse_with_tool('tools/vis/show_tracks.py',
                           ['TRACKS.npz', 'tracks.gif'])[0]
