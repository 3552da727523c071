"""Exit status: 0 done/verified, 1 not verified, 2 bad input, 3 internal error, 130 interrupted.

An internal error (a bug) must be told apart from a result and from bad
input: one line on standard error naming a file that holds the traceback,
exit status 3, never a traceback on the terminal unless ``--debug`` asks.
Output paths are checked before any work starts.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import eqprop.figures
import eqprop.proofs
import eqprop.proofs.scale
import eqprop.symbolic.builtins
from eqprop.cli import main
from eqprop.errors import EqpropError


@pytest.fixture
def trace_dir(tmp_path, monkeypatch):
    folder = tmp_path / "tracebacks"
    monkeypatch.setenv("EQPROP_TRACEBACK_DIR", str(folder))
    return folder


def crash_on_load(monkeypatch, exc):
    """Make the library function `eqprop derive` calls raise ``exc``."""
    def load_model(*args, **kwargs):
        raise exc
    monkeypatch.setattr(eqprop.symbolic.builtins, "load_model", load_model)


def never(*args, **kwargs):
    raise AssertionError("the work started although an argument was bad")


# -- internal errors: exit 3 ------------------------------------------------------

def test_internal_error_is_one_line_and_a_traceback_file(monkeypatch, capsys, trace_dir):
    crash_on_load(monkeypatch, RuntimeError("boom\nacross two lines"))
    assert main(["derive", "two-neurons"]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    head, _, rest = lines[0].partition("; the traceback is in ")
    assert head == "eqprop: internal error: RuntimeError: boom across two lines"
    assert rest.endswith(" (rerun with --debug to see it here)")
    path = rest[:-len(" (rerun with --debug to see it here)")]
    files = list(trace_dir.iterdir())
    assert [str(f) for f in files] == [path]
    text = files[0].read_text(encoding="utf-8")
    assert "command: eqprop derive two-neurons" in text
    assert "Traceback (most recent call last)" in text
    assert "in load_model" in text and text.rstrip().endswith("across two lines")


@pytest.mark.parametrize("argv", [["--debug", "derive"], ["derive", "--debug"]])
def test_debug_prints_the_traceback_and_still_exits_3(monkeypatch, capsys, trace_dir, argv):
    crash_on_load(monkeypatch, RuntimeError("boom"))
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last)")
    assert "in load_model" in err
    assert err.strip().splitlines()[-1] == "eqprop: internal error: RuntimeError: boom"
    assert not trace_dir.exists()  # printed instead of saved


@pytest.mark.parametrize("exc", [MemoryError(), RecursionError("maximum recursion depth exceeded")])
def test_memory_and_recursion_errors_are_internal(monkeypatch, capsys, trace_dir, exc):
    crash_on_load(monkeypatch, exc)
    assert main(["derive"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"eqprop: internal error: {type(exc).__name__}")


def test_wrapped_upstream_they_are_bad_input(monkeypatch, capsys):
    crash_on_load(monkeypatch, EqpropError("energy: too deeply nested"))
    assert main(["--debug", "derive"]) == 2  # --debug changes nothing for bad input
    assert capsys.readouterr().err == "eqprop: error: energy: too deeply nested\n"


def test_interrupt_exits_130(monkeypatch, capsys):
    crash_on_load(monkeypatch, KeyboardInterrupt())
    assert main(["derive"]) == 130
    assert capsys.readouterr().err == "eqprop: interrupted\n"


def test_traceback_file_that_cannot_be_written_still_one_line(monkeypatch, capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("EQPROP_TRACEBACK_DIR", str(blocker))
    crash_on_load(monkeypatch, RuntimeError("boom"))
    assert main(["derive"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("eqprop: internal error: RuntimeError: boom; the traceback could not be saved")


def test_internal_error_in_verify(monkeypatch, capsys, trace_dir):
    def verify(*args, **kwargs):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(eqprop.proofs, "verify", verify)
    assert main(["verify", "two-neurons", "--quiet"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("eqprop: internal error: ZeroDivisionError")


def test_subprocess_internal_error(tmp_path):
    """A real process: exit status 3, one line, no traceback on the terminal."""
    code = textwrap.dedent("""\
        import sys
        import eqprop.symbolic.builtins as b
        def load_model(*args, **kwargs):
            raise RuntimeError("boom")
        b.load_model = load_model
        from eqprop.cli import main
        sys.exit(main(["derive"]))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "EQPROP_TRACEBACK_DIR": str(tmp_path)})
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("eqprop: internal error: RuntimeError: boom; the traceback is in ")
    (saved,) = tmp_path.iterdir()
    assert "RuntimeError: boom" in saved.read_text(encoding="utf-8")


# -- output paths, checked before the work -----------------------------------------

def assert_bad_input(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("eqprop: error: ") and fragment in err, err


def test_verify_json_folder_fails_before_the_run(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(eqprop.proofs, "verify", never)
    assert_bad_input(capsys, ["verify", "two-neurons", "--json", str(tmp_path)], "is a folder")
    assert_bad_input(capsys, ["verify", "two-neurons", "--json", str(tmp_path / "no" / "r.json")],
                     "does not exist")


def test_scale_json_checked_before_the_run(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(eqprop.proofs.scale, "scale", never)
    assert_bad_input(capsys, ["scale", "--json", str(tmp_path)], "is a folder")
    assert_bad_input(capsys, ["scale", "--json", str(tmp_path / "no" / "s.json")], "does not exist")


@pytest.fixture
def read_only(tmp_path):
    """A folder where no file can be created: chmod 555, or as root (who may write anyway) /sys."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    try:
        open("/sys/eqprop-probe", "w").close()
    except OSError:
        yield "/sys"
        return
    os.remove("/sys/eqprop-probe")  # pragma: no cover - a writable /sys
    pytest.skip("no read-only folder here")


def _json_commands(monkeypatch):
    monkeypatch.setattr(eqprop.proofs, "verify", never)
    monkeypatch.setattr(eqprop.proofs.scale, "scale", never)
    return [["verify", "two-neurons", "--quiet", "--json"], ["scale", "--json"]]


@pytest.mark.parametrize("where, fragment", [
    ("/proc/eqprop-report.json", "cannot write '/proc/eqprop-report.json'"),
    ("{tmp}", "is a folder"),
    ("{tmp}/no/such/r.json", "does not exist"),
    ("{tmp}/a-file/r.json", "is a file, not a folder"),
    ("{ro}/r.json", "cannot write"),
])
def test_every_json_output_gets_one_check(monkeypatch, capsys, tmp_path, trace_dir, read_only, where,
                                         fragment):
    """verify --json once took /proc/... (os.access says yes to root) and failed after the run;
    scale probed by writing. One check now serves every subcommand."""
    (tmp_path / "a-file").write_text("")
    path = where.format(tmp=tmp_path, ro=read_only)
    for argv in _json_commands(monkeypatch):
        assert_bad_input(capsys, argv + [path], fragment)


@pytest.mark.parametrize("where, fragment", [
    ("/proc/eqprop-figures", "cannot write '/proc/eqprop-figures'"),
    ("{ro}/figures", "cannot write"),
    ("{tmp}/a-file", "is a file, not a folder"),
    ("{tmp}/a-file/sub", "cannot create the folder"),
])
def test_figures_out_gets_the_same_check(monkeypatch, capsys, tmp_path, trace_dir, read_only, where,
                                        fragment):
    monkeypatch.setattr(eqprop.figures, "paper_set", never)
    (tmp_path / "a-file").write_text("")
    assert_bad_input(capsys, ["figures", "--out", where.format(tmp=tmp_path, ro=read_only)], fragment)


def test_existing_output_file_is_not_truncated_by_the_check(monkeypatch, capsys, tmp_path):
    path = tmp_path / "old.json"
    path.write_text("keep")
    monkeypatch.setattr(eqprop.proofs, "verify", lambda *a, **k: (_ for _ in ()).throw(
        EqpropError("stop")))
    assert main(["verify", "two-neurons", "--quiet", "--json", str(path)]) == 2
    assert path.read_text() == "keep"


def test_scale_json_dash_is_standard_output(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["scale", "--layers", "5,7,6,4", "--batch", "3", "--steps", "20", "--json", "-"])
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out)["passed"] is True  # nothing but the JSON on standard output
    assert not (tmp_path / "-").exists()


def test_write_error_is_one_line(capsys, tmp_path):
    from eqprop.cli.output import write_json
    with pytest.raises(EqpropError, match="--json: cannot write"):
        write_json(str(tmp_path / "missing" / "r.json"), "{}")


def test_figures_arguments_checked_before_the_run(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(eqprop.figures, "paper_set", never)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert_bad_input(capsys, ["figures", "--out", str(a_file)], "is a file, not a folder")
    assert_bad_input(capsys, ["figures", "--out", str(a_file / "sub")], "cannot create")
    assert_bad_input(capsys, ["figures", "--out", str(tmp_path / "f"), "--format", "png,gif"],
                     "'gif' is not one of")


def test_figures_calls_paper_set(monkeypatch, capsys, tmp_path):
    calls = []

    def paper_set(model, dps, progress=None):
        calls.append((model, dps))
        raise EqpropError("stop here")
    monkeypatch.setattr(eqprop.figures, "paper_set", paper_set)
    assert main(["figures", "--model", "two-neurons", "--dps", "12", "--out", str(tmp_path)]) == 2
    assert calls == [("two-neurons", 12)]


# -- the engines --------------------------------------------------------------------

def test_engine_choices_are_the_library_s(capsys):
    from eqprop.proofs.verify import ENGINES
    with pytest.raises(SystemExit) as info:
        main(["verify", "--engine", "nope"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert all(repr(e) in err for e in ENGINES), err
