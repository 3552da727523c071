"""Hostile input (issue 10): data files, saved reports and sizes that must be refused in one line.

Every case of the corpus runs ``eqprop`` in process and must exit 2 with exactly one line on
standard error, ``eqprop: error: ...``, naming what is wrong, and no traceback; each is
guarded by a 30 s alarm. A report with missing parts is not bad input: it draws what it has
and says, one line per figure, what it cannot draw.
"""

import gzip
import io
import json
import os
import signal
import struct
import zipfile

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import eqprop.figures.report_io  # noqa: E402
import eqprop.numeric.data  # noqa: E402
from eqprop.cli import main  # noqa: E402


class _Timeout(BaseException):
    """Not an Exception: main() must not turn it into an internal error."""


@pytest.fixture(autouse=True)
def _guard(monkeypatch, tmp_path):
    def alarm(signum, frame):
        raise _Timeout("a hostile-input case ran for more than 30 s")
    monkeypatch.setenv("EQPROP_TRACEBACK_DIR", str(tmp_path / "tracebacks"))
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def run(argv):
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return exc.code


# -- data files ------------------------------------------------------------------------
# a network 2-3-4: two outputs (labels 0 and 1), four inputs (2x2 images)

def idx_bytes(array, code=0x08):
    array = np.asarray(array)
    dtype = {0x08: ">u1", 0x0D: ">f4"}[code]
    return (bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            + array.astype(dtype).tobytes())


IMAGES = np.arange(5 * 2 * 2).reshape(5, 2, 2) % 256
LABELS = np.array([0, 1, 0, 1, 1])


def idx_pair(tmp_path, images=None, labels=None, gz=False):
    """Images and labels files (raw bytes or arrays); returns the images path."""
    suffix = ".gz" if gz else ""
    im = tmp_path / f"t-images-idx3-ubyte{suffix}"
    lb = tmp_path / f"t-labels-idx1-ubyte{suffix}"
    for path, data, default in ((im, images, IMAGES), (lb, labels, LABELS)):
        if data is None:
            data = default
        raw = data if isinstance(data, bytes) else idx_bytes(data)
        path.write_bytes(gzip.compress(raw) if gz and not isinstance(data, bytes) else raw)
    return im


def write(path, data):
    path.write_bytes(data)
    return path


def npz(tmp_path, name="d.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def npz_claiming(tmp_path, shape):
    """An .npz whose x.npy header declares ``shape`` and holds no values."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": shape})
    path = tmp_path / "claims.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x.npy", header.getvalue())  # the magic string and the header, no values
        y = io.BytesIO()
        np.save(y, LABELS)
        z.writestr("y.npy", y.getvalue())
    return path


def npy_named_npz(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((5, 4)))
    return (tmp_path / "a.npy").rename(tmp_path / "a.npz")


def truncated_gz(tmp_path):
    im = idx_pair(tmp_path, gz=True)
    raw = im.read_bytes()
    im.write_bytes(raw[:len(raw) // 2])
    return im


def truncated_npz(tmp_path):
    path = npz(tmp_path, x=np.zeros((5, 4)), y=LABELS)
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) * 2 // 3])
    return path


def corrupt_npz_member(tmp_path):
    """A zip whose member's compressed bytes are damaged."""
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        x = io.BytesIO()
        np.save(x, np.random.default_rng(0).random((5, 4)))
        z.writestr("x.npy", x.getvalue())
        y = io.BytesIO()
        np.save(y, LABELS)
        z.writestr("y.npy", y.getvalue())
    raw = bytearray(path.read_bytes())
    for k in range(120, 220):  # inside the first member's compressed data
        raw[k] ^= 0x5A
    path.write_bytes(bytes(raw))
    return path


def unreadable(tmp_path, monkeypatch):
    path = npz(tmp_path, x=np.zeros((5, 4)), y=LABELS)
    path.chmod(0)
    if os.geteuid() == 0:  # root reads anything: deny it the way the system would
        real = os.access
        monkeypatch.setattr(eqprop.numeric.data.os, "access",
                            lambda p, mode, **kw: False if str(p) == str(path) else real(p, mode, **kw))
    return path


def _npy(array):
    b = io.BytesIO()
    np.save(b, array)
    return b.getvalue()


DATA_CASES = {
    # name: (make(tmp_path, monkeypatch) -> path or spec, fragment of the message)
    "idx header truncated": (lambda t, m: idx_pair(t, images=bytes([0, 0, 8, 3, 0, 0])), "truncated"),
    "idx garbage": (lambda t, m: idx_pair(t, images=b"\x89PNG\r\n\x1a\n garbage"), "not an IDX file"),
    "idx empty file": (lambda t, m: idx_pair(t, images=b""), "not an IDX file"),
    "idx unknown type": (lambda t, m: idx_pair(t, images=bytes([0, 0, 7, 1, 0, 0, 0, 1, 0])),
                         "unknown IDX data type"),
    "idx zero dimensions": (lambda t, m: idx_pair(t, images=bytes([0, 0, 8, 0])), "0 dimensions"),
    "idx values truncated": (lambda t, m: idx_pair(t, images=idx_bytes(IMAGES)[:-3]), "truncated"),
    "idx trailing bytes": (lambda t, m: idx_pair(t, images=idx_bytes(IMAGES) + b"xx"), "bytes after"),
    "idx claims 2^93 values": (lambda t, m: idx_pair(t, images=bytes([0, 0, 8, 3])
                                                     + struct.pack(">3I", 2**31, 2**31, 2**31)),
                               "more than the"),
    "idx fewer labels": (lambda t, m: idx_pair(t, labels=LABELS[:3]), "3 labels for 5 images"),
    "idx labels missing": (lambda t, m: write(t / "x-images-idx3-ubyte", idx_bytes(IMAGES)),
                           "no labels file"),
    "idx labels garbage": (lambda t, m: idx_pair(t, labels=b"garbage!"), "not an IDX file"),
    "idx labels 2-D": (lambda t, m: idx_pair(t, labels=np.zeros((5, 2))), "one class index"),
    "idx labels out of range": (lambda t, m: idx_pair(t, labels=np.array([0, 1, 7, 1, 0])),
                                "output layer has 2"),
    "npz labels of 2**62": (lambda t, m: npz(t, x=np.zeros((5, 4)),
                                             y=np.array([0, 1, 2**62, 1, 0], dtype=np.int64)),
                            "not class indices"),
    "idx no images name": (lambda t, m: write(t / "data.bin", idx_bytes(IMAGES)), "labels file"),
    "gz truncated": (lambda t, m: truncated_gz(t), "truncated"),
    "gz not compressed": (lambda t, m: idx_pair(t, images=idx_bytes(IMAGES), gz=True),
                          "not gzip-compressed"),
    "gz corrupt": (lambda t, m: idx_pair(t, images=b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"garbage", gz=True),
                   "gzip"),
    "npz not a zip": (lambda t, m: write(t / "g.npz", b"just some text"), "not an .npz"),
    "npz empty file": (lambda t, m: write(t / "e.npz", b""), "not an .npz"),
    "npz truncated": (lambda t, m: truncated_npz(t), ".npz"),
    "npz corrupt member": (lambda t, m: corrupt_npz_member(t), "'x'"),
    "npz object dtype": (lambda t, m: npz(t, x=np.array([None] * 5, dtype=object), y=LABELS),
                         "dtype object"),
    "npz string dtype": (lambda t, m: npz(t, x=np.array(["a"] * 5), y=LABELS), "must hold numbers"),
    "npy named npz": (lambda t, m: npy_named_npz(t), "single array"),
    "npz missing arrays": (lambda t, m: npz(t, a=np.zeros((5, 4)), b=LABELS), "needs arrays x and y"),
    "npz zero examples": (lambda t, m: npz(t, x=np.zeros((0, 4)), y=np.zeros(0)), "no examples"),
    "npz fewer labels": (lambda t, m: npz(t, x=np.zeros((5, 4)), y=LABELS[:2]), "2 labels for 5"),
    "npz images 1-D": (lambda t, m: npz(t, x=np.zeros(5), y=LABELS), "one row"),
    "npz images NaN": (lambda t, m: npz(t, x=np.full((5, 4), np.nan), y=LABELS), "NaN"),
    "npz labels not whole": (lambda t, m: npz(t, x=np.zeros((5, 4)), y=np.full(5, 0.5)),
                             "whole numbers"),
    "npz labels negative": (lambda t, m: npz(t, x=np.zeros((5, 4)), y=-np.ones(5)), "negative"),
    "npz claims 2^40 rows": (lambda t, m: npz_claiming(t, (2**40, 4)), "more than the"),
    "missing file": (lambda t, m: t / "nowhere" / "train-images-idx3-ubyte", "no such file"),
    "a folder": (lambda t, m: t, "is a folder"),
    "unreadable file": (lambda t, m: unreadable(t, m), "permission denied"),
    "wrong image size": (lambda t, m: npz(t, x=np.zeros((5, 9)), y=LABELS), "input layer has 4"),
    "fewer examples than batch": (lambda t, m: npz(t, x=np.zeros((1, 4)), y=LABELS[:1]),
                                  "fewer than batch"),
    # a fourth hostile corpus: pixels neither in [-1, 1] nor 0..255 were divided by 255 (or taken as
    # they were) silently; an .npy or an .npz under another name was sought an IDX labels file
    "standardized pixels": (lambda t, m: npz(t, x=(np.arange(20).reshape(5, 4) - 6) / 5, y=LABELS),
                            "range over -1.2..2.6"),
    "pixels of 1e6": (lambda t, m: npz(t, x=np.full((5, 4), 1e6), y=LABELS), "or 0..255 (scaled"),
    "pixels of int16 -23..0": (lambda t, m: idx_pair(t, images=(bytes([0, 0, 0x0B, 3])
                                                                 + struct.pack(">3I", 5, 2, 2)
                                                                 + (-IMAGES).astype(">i2").tobytes())),
                               "range over -19..0"),
    "plain npy": (lambda t, m: write(t / "d.npy", _npy(np.zeros((5, 4)))), "holds a single array"),
    "npz named .bin": (lambda t, m: npz(t, x=np.zeros((5, 4)), y=LABELS).rename(t / "d.bin"),
                       "is a zip file"),
    "empty mnist path": (lambda t, m: "mnist:", "give a file after"),
    "unknown data": (lambda t, m: "cifar10", "unknown"),
}


def assert_refused(capsys, argv, fragment):
    code = run(argv)
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert code == 2, (argv, code, captured.err)
    assert len(err) == 1 and err[0].startswith("eqprop: error:"), captured.err
    assert "Traceback" not in captured.err + captured.out
    assert fragment in err[0], (fragment, err[0])
    return err[0]


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_hostile_data_file(case, tmp_path, monkeypatch, capsys):
    make, fragment = DATA_CASES[case]
    made = make(tmp_path, monkeypatch)
    spec = made if isinstance(made, str) else f"mnist:{made}"
    line = assert_refused(capsys, ["scale", "--layers", "2,3,4", "--batch", "2", "--steps", "2",
                                   "--data", spec], fragment)
    if not isinstance(made, str):
        assert str(tmp_path) in line  # the message names the file (images or their labels)


def test_pixels_in_either_range_are_taken(tmp_path):
    """[-1, 1] as it is, 0..255 scaled, booleans as 0 and 1: what the pixel check leaves alone."""
    from eqprop.numeric.data import load
    for k, (images, largest) in enumerate(((np.linspace(-1, 1, 20).reshape(5, 4), 1.0),
                                           (np.full((5, 4), 255, np.uint8), 1.0),
                                           (np.ones((5, 4), bool), 1.0))):
        x, _ = load(f"mnist:{npz(tmp_path, f'p{k}.npz', x=images, y=LABELS)}", n_in=4, n_out=2, batch=5)
        assert x.max() == largest and x.min() >= -1


def test_digits_labels_are_checked_on_the_whole_set(capsys):
    """An output layer of 3 units was told to grow to 8, the largest label of one batch, when the
    digits run 0..9 (a fourth hostile corpus)."""
    pytest.importorskip("sklearn")
    assert_refused(capsys, ["scale", "--layers", "3,5,64", "--batch", "2", "--steps", "2", "--data",
                            "digits"], "labels range over 0..9 but the output layer has 3 units; set "
                                       "the first layer size to 10")


def test_valid_data_files_still_load(tmp_path):
    """The corpus is hostile because of what each case breaks: the same files, intact, load."""
    from eqprop.numeric.data import load
    (tmp_path / "gz").mkdir()
    for spec in (f"mnist:{idx_pair(tmp_path)}", f"mnist:{idx_pair(tmp_path / 'gz', gz=True)}",
                 f"mnist:{npz(tmp_path, x=IMAGES.reshape(5, 4), y=LABELS)}"):
        x, y = load(spec, n_in=4, n_out=2, batch=3)
        assert x.shape == (3, 4) and y.shape == (3, 2) and x.max() <= 1


# -- sizes and arguments of scale -------------------------------------------------------

SCALE_CASES = {
    "layers 100000,100000": (["--layers", "100000,100000"], "limit"),
    "batch 1e8": (["--batch", "100000000"], "GiB limit"),
    "steps 1e8": (["--steps", "100000000"], "limit"),
    "work past 1e13 flop": (["--layers", "10,512,512,784", "--batch", "2000", "--steps", "3000"],
                            "floating-point operations"),
    "huge layer": (["--layers", "10," + "9" * 400], "limit"),
    "beta 0": (["--beta", "0"], "non-zero"),
    "beta nan": (["--beta", "nan"], "finite"),
    "beta inf": (["--beta", "inf"], "finite"),
    "eps 0": (["--eps", "0"], "eps"),
    "eps nan": (["--eps", "nan"], "eps"),
    "eps negative": (["--eps", "-0.5"], "eps"),
    "steps 0": (["--steps", "0"], "at least 1"),
    "batch 0": (["--batch", "0"], "at least 1"),
    "batch negative": (["--batch", "-3"], "at least 1"),
    "one layer": (["--layers", "5"], "two positive sizes"),
    "zero-size layer": (["--layers", "5,0,3"], "two positive sizes"),
    "negative layer": (["--layers", "5,-3"], "two positive sizes"),
    "layers not integers": (["--layers", "10,a,3"], "comma-separated integers"),
    "unknown cost": (["--cost", "hinge"], "invalid choice"),
    "negative seed": (["--seed", "-1"], "non-negative"),
    "asymmetry nan": (["--asymmetry", "nan"], "finite"),
    # a third hostile corpus: an internal error (exit 3), and errors after a progress line
    "layers with an underscore": (["--layers", "5,1_0,4"], "ASCII digits only"),
    "layers in fullwidth digits": (["--layers", "5,\uff11\uff10,4"], "ASCII digits only"),
    "layers with an empty entry": (["--layers", "5,,4"], "ASCII digits only"),
    "layers of 5000 digits": (["--layers", "10," + "9" * 5000], "far beyond the memory limit"),
    "rho beyond float64": (["--rho", "1e999*z"], "overflows float64"),
    "asymmetry 1e308": (["--asymmetry", "1e308"], "at most 1e+06"),
    "rho exp diverges, one line": (["--rho", "exp(z)"], "diverged"),
    # a fourth hostile corpus: a subnormal step made 200 / eps infinite (exit 3)
    "eps subnormal 1e-310": (["--eps", "1e-310"], "smallest normal number"),
    "eps smallest subnormal": (["--eps", "5e-324"], "smallest normal number"),
}


@pytest.mark.parametrize("case", list(SCALE_CASES))
def test_hostile_scale_arguments(case, capsys):
    args, fragment = SCALE_CASES[case]
    base = {"--layers": "5,7,6,4", "--batch": "3", "--steps": "5"}
    for k in range(0, len(args), 2):
        base[args[k]] = args[k + 1]
    argv = ["scale"] + [x for kv in base.items() for x in kv]
    assert_refused(capsys, argv, fragment)


def test_scale_json_to_a_folder_or_nowhere(tmp_path, capsys):
    assert_refused(capsys, ["scale", "--layers", "5,4", "--json", str(tmp_path)], "is a folder")
    assert_refused(capsys, ["scale", "--layers", "5,4", "--json", "/proc/eqprop-report.json"],
                   "cannot write")


def test_scale_json_over_its_own_data_file(tmp_path, capsys):
    """--json naming the data file (or its labels) replaced it with the report (a fourth hostile
    corpus)."""
    data = npz(tmp_path, x=np.zeros((5, 4)), y=LABELS)
    base = ["scale", "--layers", "2,3,4", "--batch", "2", "--steps", "2"]
    assert_refused(capsys, base + ["--data", f"mnist:{data}", "--json", str(data)],
                   "is the data file this command reads")
    images = idx_pair(tmp_path)
    assert_refused(capsys, base + ["--data", f"mnist:{images}", "--json",
                                   str(tmp_path / "t-labels-idx1-ubyte")], "is the labels file")
    assert np.load(data)["x"].shape == (5, 4)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_scale_json_to_a_full_device_before_the_work(capsys, monkeypatch):
    """/dev/full opens for appending but refuses every write: found before the run."""
    import eqprop.proofs.scale
    monkeypatch.setattr(eqprop.proofs.scale, "scale", lambda *a, **k: pytest.fail("ran"))
    assert_refused(capsys, ["scale", "--layers", "5,4", "--json", "/dev/full"], "No space left")


def test_scale_progress_is_not_written_to_a_pipe(capsys):
    """Off a terminal, only the final 'done' line is written: no stage line to precede an error."""
    code = run(["scale", "--layers", "3,4,2", "--batch", "2", "--steps", "3"])
    err = capsys.readouterr().err
    assert code in (0, 1) and "stage" not in err and err.strip().endswith("done"), err


def test_estimate_is_python_integers():
    """Sizes whose products overflow int64 are estimated exactly (and refused), not wrapped."""
    from eqprop.errors import EqpropError
    from eqprop.proofs.scale import estimate, scale
    from eqprop.symbolic.arrays import derive_arrays, generate, layered
    program = generate(derive_arrays(layered([10**8, 10**8, 10**8])))
    mem, flops = estimate(program, 2**30, 10)
    assert mem > 2**66 and flops > 2**80  # beyond int64, exact
    with pytest.raises(EqpropError, match="limit"):
        scale([2**40, 2**40], batch=2**30)
    with pytest.raises(EqpropError, match="memory"):
        scale([10**8, 10**8, 10**8], batch=2**30)


# -- saved reports ----------------------------------------------------------------------

ROWS = [["1", "0.5"], ["0.5", "0.25"], ["0.25", "0.125"]]
THETA = [["0.1"], ["0.05"], ["0.02"]]
BASE = {"model": "two", "state": ["a", "b"], "params": [{"name": "w", "value": "1/2"}],
        "layers": None, "times": [0.0, 1.0, 2.0],
        "series": {"s_bar": ROWS, "s_tilde": ROWS, "theta_bar": THETA, "theta_tilde": THETA},
        "dJ_dtheta": {"implicit": ["0.001"]}, "hessian_min_eigenvalue": "0.5",
        "bias": {"betas": ["0.1", "0.01"], "one_sided": ["0.1", "0.01"],
                 "symmetric": ["0.01", "0.0001"]},
        "verdict": "verified"}


def with_(**changes):
    d = json.loads(json.dumps(BASE))
    for key, value in changes.items():
        if "__" in key:
            outer, inner = key.split("__")
            d[outer][inner] = value
        else:
            d[key] = value
    return json.dumps(d)


REPORT_CASES = {
    # name: (text of the file, fragment of the message)
    "not JSON": ("this is not JSON {", "not valid JSON"),
    "JSON list": ("[1, 2, 3]", "got a list"),
    "JSON number": ("42", "got an integer"),
    "empty object": ("{}", "not a report"),
    "no state": (json.dumps({"model": "m"}), "not a report"),
    "layers of strings": (with_(layers=["a", "b"]), "'layers'"),
    "layers 100000,100000": (with_(layers=[100000, 100000]), "do not match"),
    "layers a number": (with_(layers=5), "'layers'"),
    "state not a list": (with_(state="ab"), "'state'"),
    "state with a number": (with_(state=["a", 3]), "'state'[1]"),
    "NaN string in times": (with_(times=["NaN", 1, 2]), "not finite"),
    "NaN literal in series": (with_(series__s_bar=[[float("nan"), 0], [1, 2], [3, 4]]), "not finite"),
    "1e400 in times": (with_(times=[0, 1, "BIG"]).replace('"BIG"', "1e400"), "not finite"),
    "word in a series": (with_(series__s_tilde=[["1", "abc"], ["1", "2"], ["1", "2"]]),
                         "should be a number"),
    "boolean in a series": (with_(series__s_tilde=[[True, 1], [1, 2], [1, 2]]), "should be a number"),
    "rows for other times": (with_(series__s_bar=ROWS[:2]), "2 rows for 3 times"),
    "row too wide (a huge array)": (with_(series__s_bar=[[0] * 200_000] + ROWS[1:]),
                                    "200000 values for 2 state variables"),
    "too many times": (with_(times=list(range(20_001))), "more than the 10000"),
    "series not an object": (with_(series=[1, 2]), "'series'"),
    "row not a list": (with_(series__theta_bar=["1", "2", "3"]), "should be a list"),
    "gradient of the wrong length": (with_(dJ_dtheta__implicit=["1", "2"]), "2 values for 1"),
    "eigenvalue not a number": (with_(hessian_min_eigenvalue="lots"), "should be a number"),
    "bias lengths differ": (with_(bias__symmetric=["0.1"]), "1 values for 2 betas"),
    "bias betas negative": (with_(bias__betas=["-0.1", "0.01"]), "positive"),
    "bias half missing": (with_(bias={"betas": ["0.1"]}), "'bias'"),
    "params a string": (with_(params="w"), "'params'"),
    "params entry without name": (with_(params=[{"value": 1}]), "'params'[0]"),
    "model not a string": (with_(model=["m"]), "'model'"),
    "deeply nested JSON": ("[" * 100_000 + "]" * 100_000, "report"),
    "not UTF-8": (b"\xff\xfe\x00garbage", "not UTF-8"),
    # a third hostile corpus: drawn without a word before
    "negative time": (with_(times=[-1, 0, 1]), "negative time"),
    "decreasing times": (with_(times=[2, 1, 0]), "should increase strictly"),
    "repeated times": (with_(times=[0, 0, 0]), "should increase strictly"),
    "param value nan": (with_(params=[{"name": "w", "value": "nan"}]), "'params'[0].'value' is not finite"),
    "integer of 5000 digits": (with_(hessian_min_eigenvalue="BIG").replace('"BIG"', "9" * 5000),
                               "not finite"),
    # a fourth hostile corpus: numbers near float64's largest overflowed matplotlib (exit 3); a key
    # given twice, numbers in other digits and negative bias errors were read silently
    "numbers near float64's largest": (with_(series__s_bar=[["1.7e308", "-1.7e308"], ROWS[1], ROWS[2]]),
                                       "'series'.'s_bar'[0][0] is 1.7e+308, beyond 1e+300"),
    "eigenvalue 1e308": (with_(hessian_min_eigenvalue=1e308), "beyond 1e+300 in absolute value"),
    "a key given twice": (with_()[:-1] + ', "times": [0, 5, 9]}', "the key 'times' is given twice"),
    "a key given twice inside": (with_().replace('"s_bar": [', '"s_bar": [], "s_bar": [', 1),
                                 "the key 's_bar' is given twice"),
    "underscore in a number": (with_(hessian_min_eigenvalue="1_0"), "should be a number in ASCII digits"),
    "text below float64": (with_(hessian_min_eigenvalue="1e-400"), "below float64's smallest number"),
    "fraction below float64": (with_(hessian_min_eigenvalue="1/" + "1" + "0" * 400),
                               "below float64's smallest number"),
    "Arabic-Indic digit": (with_(times=["0", "\u0661", "2"]), "'times'[1] should be a number in ASCII"),
    "negative bias error": (with_(bias__one_sided=["-0.1", "0.01"]),
                            "'bias'.'one_sided' has a negative error (-0.1)"),
}


@pytest.mark.parametrize("case", list(REPORT_CASES))
def test_hostile_report(case, tmp_path, capsys):
    text, fragment = REPORT_CASES[case]
    path = tmp_path / "report.json"
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    out = tmp_path / "figs"
    assert_refused(capsys, ["figures", "--from", str(path), "--out", str(out), "--format", "png"],
                   fragment)
    assert not out.exists()  # refused before any folder is made


@pytest.mark.parametrize("path", [5, None, b"report.json", ["report.json"], "", "  "])
def test_load_report_of_a_wrong_type_or_empty_name(path):
    """load_report(5) raised TypeError, and figures --from '' ran a verification instead (a fourth
    hostile corpus)."""
    with pytest.raises(eqprop.errors.EqpropError, match="report: (expected the path|the file name "
                                                        "is empty)"):
        eqprop.figures.report_io.load_report(path)


def test_report_too_large(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(eqprop.figures.report_io, "MAX_REPORT_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text(with_(times=[0.0, 1.0, 2.0], model="m" * 2000))
    assert_refused(capsys, ["figures", "--from", str(path), "--out", str(tmp_path / "f")],
                   "more than the 1000 bytes")


@pytest.mark.parametrize("where", ["missing", "folder"])
def test_report_path_missing_or_folder(where, tmp_path, capsys):
    path = tmp_path / "none.json" if where == "missing" else tmp_path
    assert_refused(capsys, ["figures", "--from", str(path), "--out", str(tmp_path / "f")],
                   "no such file" if where == "missing" else "is a folder")


def _loop(tmp_path):
    for a, b in (("l1", "l2"), ("l2", "l1")):
        os.symlink(tmp_path / b, tmp_path / a)
    return tmp_path / "l1"


def test_report_from_a_symlink_loop(tmp_path, capsys):
    assert_refused(capsys, ["figures", "--from", str(_loop(tmp_path)), "--out", str(tmp_path / "f")],
                   "symbolic links")  # was 'no such file'


def test_figures_out_a_symlink_loop_before_the_work(tmp_path, capsys):
    report = tmp_path / "r.json"
    report.write_text(json.dumps(BASE))
    assert_refused(capsys, ["figures", "--from", str(report), "--out", str(_loop(tmp_path)),
                            "--format", "png"], "symbolic link that cannot be followed")


def test_report_with_a_byte_order_mark_is_read(tmp_path, capsys):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(BASE).encode())
    assert eqprop.figures.report_io.load_report(path)["model"] == "two"


def test_figures_out_refused_before_the_work(tmp_path, capsys):
    report = tmp_path / "r.json"
    report.write_text(json.dumps(BASE))
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert_refused(capsys, ["figures", "--from", str(report), "--out", str(a_file)], "is a file")
    assert_refused(capsys, ["figures", "--from", str(report), "--out", "/proc/eqprop-figures"],
                   "--out")


# -- partial and unusual reports: draw what there is ------------------------------------

def draw(tmp_path, capsys, d):
    path = tmp_path / "report.json"
    path.write_text(d if isinstance(d, str) else json.dumps(d))
    out = tmp_path / "figs"
    code = run(["figures", "--from", str(path), "--out", str(out), "--format", "png"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    notes = captured.err.strip().splitlines()
    assert all(n.startswith("eqprop: note: skipped figure ") for n in notes), notes
    # a model without layers has no network figure, and every run says so (issue 23)
    layerless = [n for n in notes if "has no layers" in n]
    assert len(layerless) == (0 if json.loads(path.read_text()).get("layers") else 1), notes
    return sorted(p.stem for p in out.glob("*.png")), [n for n in notes if n not in layerless]


def test_the_crafted_base_report_draws_everything(tmp_path, capsys):
    drawn, notes = draw(tmp_path, capsys, BASE)
    assert drawn == ["beta_bias", "theorem3_params", "theorem3_states", "truncation"] and not notes


def test_assumption_violated_report_draws_nothing_and_says_why(tmp_path, capsys):
    """The tool's own report of a run stopped by a violated assumption (E not real at the
    model's values: sqrt(x) with x = -1)."""
    from eqprop import Model, verify
    m = Model(energy="a**2/2 + b**2/2 + sqrt(x)*b - w*a*b", cost="(a - y)**2/2",
              state=["a", "b"], params={"w": "0.5"}, data={"x": "-1", "y": "1"})
    report = verify(m, dps=15)
    assert report.verdict.short == "assumption violated" and not report.series
    drawn, notes = draw(tmp_path, capsys, report.to_json())
    assert drawn == [] and len(notes) == 4
    assert all("assumption violated" in n for n in notes)


@pytest.mark.parametrize("drop, skipped", [
    ("bias", ["beta_bias"]),
    ("series", ["theorem3_states", "theorem3_params", "truncation"]),
    ("dJ_dtheta", ["truncation"]),
    ("times", ["theorem3_states", "theorem3_params", "truncation"]),
    ("params", ["theorem3_params", "truncation"]),
])
def test_partial_report_draws_what_it_has(drop, skipped, tmp_path, capsys):
    d = json.loads(json.dumps(BASE))
    del d[drop]
    if drop == "times":
        del d["series"]  # a series without its time grid is malformed, not partial
    drawn, notes = draw(tmp_path, capsys, d)
    figures = {"theorem3_states", "theorem3_params", "truncation", "beta_bias"}
    assert drawn == sorted(figures - set(skipped))
    assert [n.split()[4].rstrip(":") for n in notes] == skipped


def test_unknown_keys_are_named_in_a_note(tmp_path, capsys):
    """A misspelt 'seires' only left figures undrawn (a fourth hostile corpus): each key that is
    not a report's is named, with the nearest known one; a report of eqprop verify has none."""
    d = json.loads(json.dumps(BASE))
    d["seires"] = d["series"]
    d["series"] = dict(d["series"], s_bra=[])
    d["bias"]["symetric"] = []
    drawn, notes = draw_with_notes(tmp_path, capsys, d)
    assert len(drawn) == 4
    assert notes == ["eqprop: note: report: unknown key 'seires' (did you mean 'series'?) ignored",
                     "eqprop: note: report: 'series': unknown key 's_bra' (did you mean 's_bar'?) ignored",
                     "eqprop: note: report: 'bias': unknown key 'symetric' (did you mean 'symmetric'?) "
                     "ignored"]
    from eqprop import Model, verify
    m = Model(energy="a**2/2 - w*a", cost="a", state=["a"], params={"w": 1})
    assert eqprop.figures.report_io.check_report(json.loads(verify(m, dps=10).to_json())).notes == []


def draw_with_notes(tmp_path, capsys, d):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(d))
    out = tmp_path / "figs"
    assert run(["figures", "--from", str(path), "--out", str(out), "--format", "png"]) == 0
    err = capsys.readouterr().err
    return (sorted(p.stem for p in out.glob("*.png")),
            [n for n in err.strip().splitlines() if "has no layers" not in n])


def test_names_are_not_mathtext(tmp_path, capsys):
    d = json.loads(json.dumps(BASE))
    d["state"] = ["$\\frac{", "a$b\\"]
    d["params"] = [{"name": "_\x00" + "w" * 100, "value": "1"}]
    drawn, notes = draw(tmp_path, capsys, d)
    assert len(drawn) == 4 and not notes


def test_wide_network_is_skipped_with_a_note(tmp_path, capsys):
    d = json.loads(json.dumps(BASE))
    d["layers"] = [2, 100_000]  # consistent with two state variables, too wide to draw
    drawn, notes = draw(tmp_path, capsys, d)
    assert len(drawn) == 4 and len(notes) == 1 and "network" in notes[0]


def test_a_fifo_is_refused_not_opened(tmp_path, capsys):
    """Opening a FIFO for reading would wait for a writer forever: it is refused unopened."""
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    assert_refused(capsys, ["scale", "--layers", "2,3,4", "--batch", "2", "--data", f"mnist:{fifo}"],
                   "not a regular file")
    assert_refused(capsys, ["figures", "--from", str(fifo), "--out", str(tmp_path / "f")],
                   "not a regular file")


def test_an_npz_holding_a_member_twice_is_refused(tmp_path):
    """Two x.npy members: zipfile read the last of them silently."""
    import io
    import warnings
    import zipfile
    path = tmp_path / "dup.npz"
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as z:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name
        for name, arr in (("x.npy", np.zeros((3, 784))), ("x.npy", np.ones((3, 784))),
                          ("y.npy", np.array([1, 2, 3]))):
            b = io.BytesIO()
            np.save(b, arr)
            z.writestr(name, b.getvalue())
    from eqprop.errors import EqpropError
    from eqprop.numeric.data import load
    with pytest.raises(EqpropError, match="holds 'x.npy' more than once"):
        load(f"mnist:{path}", n_in=784, n_out=10, batch=2)
