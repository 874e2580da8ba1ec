#!/usr/bin/python3
"""Independent reference for EmgBiofeedback.Dsp, computed with SciPy at test time.

Run by tests/EmgBiofeedback.Dsp.Tests through Debian's /usr/bin/python3 (python3-scipy). Data travel
through files of little-endian float64; parameters through a small JSON file. Nothing here is taken
from the C# code: the filters are designed by SciPy from the same *parameters* (butter for the
band-pass and the linear envelope; for the mains notch iircomb(f, Q, ftype='notch') when the design
is "comb", no harmonic count is given and SciPy accepts fs as a multiple of f, else iirnotch at every
harmonic, the design the C# chain uses through NWaves' DesignFilter.IirNotch), run with sosfilt /
lfilter, and the RMS is summed directly per window.

  emg_reference.py chain PARAMS.json COUNTS.f64 OUTDIR     whole chain, writes filtered/rms/linear/mains .f64
  emg_reference.py response PARAMS.json FREQS.f64 OUT.f64  complex responses of butter(...) (re, im pairs)
  emg_reference.py bench [SECONDS]                         times sosfilt on 8 channels x 1000 Hz (docs/performance.md)
"""
import json
import sys
import time

try:
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy import signal
except ImportError as error:  # the tests turn this into a failure with the message below
    sys.stderr.write(
        "SciPy reference unavailable: %s. Install Debian's python3-scipy (apt-get install python3-scipy); "
        "the tests run /usr/bin/python3.\n" % error)
    sys.exit(3)


def read_f64(path):
    return np.fromfile(path, dtype="<f8")


def write_f64(path, values):
    np.ascontiguousarray(values, dtype="<f8").tofile(path)


def band_pass_sos(p):
    fs = p["sample_rate_hz"]
    high = min(p["band_pass_high_hz"], 0.45 * fs)  # the chain's documented clamp: 0.9 x Nyquist
    return signal.butter(p["band_pass_order"], [p["band_pass_low_hz"], high], btype="bandpass", fs=fs, output="sos")


def notch_comb(p):
    """(b, a) of SciPy's iircomb notch when the chain would use it, else None."""
    if p.get("notch_design", "comb") != "comb" or p.get("harmonics") is not None:
        return None
    try:
        return signal.iircomb(p["mains_hz"], p["notch_q"], ftype="notch", fs=p["sample_rate_hz"])
    except ValueError:  # fs is not a multiple of the mains frequency: per-harmonic notches
        return None


def notch_filter(p, x):
    comb = notch_comb(p)
    if comb is not None:
        return signal.lfilter(comb[0], comb[1], x, axis=0)
    return signal.sosfilt(notch_sos(p), x, axis=0)


def notch_sos(p):
    fs = p["sample_rate_hz"]
    f0 = p["mains_hz"]
    available = int(np.ceil((fs / 2) / f0)) - 1  # multiples strictly below Nyquist
    count = available if p.get("harmonics") is None else min(p["harmonics"], available)
    rows = []
    for k in range(1, count + 1):
        b, a = signal.iirnotch(k * f0, p["notch_q"] * k, fs=fs)  # every notch as narrow as the fundamental's
        rows.append(np.concatenate([b, a]))
    return np.array(rows).reshape(-1, 6)


def linear_envelope_sos(p):
    return signal.butter(p["linear_order"], p["linear_cutoff_hz"], btype="lowpass", fs=p["sample_rate_hz"], output="sos")


def window_sums(values, window, ends):
    """Sum of values[i - window + 1 .. i] for each i in ends, zeros before the start; each window summed afresh."""
    padded = np.concatenate([np.zeros((window - 1,) + values.shape[1:]), values])
    return np.stack([padded[e:e + window].sum(axis=0) for e in ends]) if len(ends) else np.zeros((0,) + values.shape[1:])


def chain(params_path, counts_path, out_dir):
    p = json.load(open(params_path))
    fs = p["sample_rate_hz"]
    channels = p["channels"]
    counts = read_f64(counts_path).reshape(-1, channels)
    gains = np.asarray(p["gains"], dtype=float)
    offsets = np.asarray(p["offsets"], dtype=float)
    # (count - offset) * Vref / 2^bits / gain, Vref in mV -> µV
    x = (counts - offsets) * p["reference_mv"] * 1000.0 / 2.0 ** p["adc_bits"] / gains

    banded = signal.sosfilt(band_pass_sos(p), x, axis=0)
    notched = notch_filter(p, banded)
    filtered = notched if p["notch_enabled"] else banded

    decimation = max(1, int(round(fs / p["output_rate_hz"])))
    window = max(1, int(round(p["rms_window_ms"] * fs / 1000.0)))
    ends = np.arange(decimation - 1, len(x), decimation)
    rms = np.sqrt(window_sums(filtered ** 2, window, ends) / window)
    removed = window_sums((banded - notched) ** 2, window, ends)
    total = removed + window_sums(notched ** 2, window, ends)
    mains = np.divide(removed, total, out=np.zeros_like(total), where=total > 0)  # mains / (mains + the rest)
    if p["linear_enabled"]:
        linear = signal.sosfilt(linear_envelope_sos(p), np.abs(filtered), axis=0)[ends]
    else:
        linear = np.full_like(rms, np.nan)

    write_f64(out_dir + "/filtered.f64", filtered)
    write_f64(out_dir + "/rms.f64", rms)
    write_f64(out_dir + "/linear.f64", linear)
    write_f64(out_dir + "/mains.f64", mains)


def response(params_path, freqs_path, out_path):
    p = json.load(open(params_path))
    fs = p["sample_rate_hz"]
    freqs = read_f64(freqs_path)
    kind = p["kind"]
    if kind == "band_pass":
        sos = band_pass_sos(p)
    elif kind == "linear_envelope":
        sos = linear_envelope_sos(p)
    elif kind == "notch":
        comb = notch_comb(p)
        if comb is not None:
            _, h = signal.freqz(comb[0], comb[1], worN=freqs, fs=fs)
            write_f64(out_path, np.column_stack([h.real, h.imag]))
            return
        sos = notch_sos(p)
    else:
        raise SystemExit("unknown kind " + kind)
    _, h = signal.sosfreqz(sos, worN=freqs, fs=fs)
    write_f64(out_path, np.column_stack([h.real, h.imag]))


def bench(seconds):
    """sosfilt on the benchmark's workload: 8 channels x 1000 Hz, band-pass 20-450 Hz order 4 + 9 notches."""
    p = {"sample_rate_hz": 1000.0, "band_pass_low_hz": 20.0, "band_pass_high_hz": 450.0, "band_pass_order": 4,
         "mains_hz": 50.0, "notch_q": 30.0, "harmonics": None}
    sos = np.vstack([band_pass_sos(p), notch_sos(p)])
    rng = np.random.default_rng(42)
    instants = 1_000_000
    frames = rng.integers(0, 1024, size=(instants, 8)).astype(np.uint16)  # interleaved counts, like the C# benchmark
    scale = 5000.0 * 1000.0 / 1024 / 200

    def whole_chain():
        x = (frames.astype(np.float64) - 512.0) * scale  # counts -> µV
        y = signal.sosfilt(sos, x.T, axis=-1)  # transposed to channel-major
        blocks = (y * y).reshape(8, -1, 20).sum(axis=-1)  # rectified power per output period
        return np.sqrt(sliding_window_view(blocks, 5, axis=-1).sum(axis=-1) / 100)  # 100-sample RMS every 20

    channel_major = np.ascontiguousarray(((frames.astype(np.float64) - 512.0) * scale).T)
    results = {}
    for name, run in (("sosfilt (%d sections, channel-major float64)" % len(sos), lambda: signal.sosfilt(sos, channel_major, axis=-1)),
                      ("whole chain with NumPy (convert, transpose, sosfilt, square, RMS, decimate)", whole_chain)):
        run()
        best = float("inf")
        times = []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(times) < 3:
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        best = min(times)
        median = sorted(times)[len(times) // 2]
        results[name] = (instants * 8 / best / 1e6, instants * 8 / median / 1e6, len(times))
    for name, (best, median, runs) in results.items():
        print("%s: %.1f M channel-samples/s best, %.1f median (%d runs)" % (name, best, median, runs))


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    if argv[1] == "chain":
        chain(argv[2], argv[3], argv[4])
    elif argv[1] == "response":
        response(argv[2], argv[3], argv[4])
    elif argv[1] == "bench":
        bench(float(argv[2]) if len(argv) > 2 else 5.0)
    elif argv[1] == "check":
        print("scipy", __import__("scipy").__version__, "numpy", np.__version__)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
