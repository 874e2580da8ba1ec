#!/usr/bin/python3
"""What MNE-Python reads from an EDF/EDF+/BDF/BDF+ file, for the reader's tests. Run with Debian's /usr/bin/python3
(python3-mne, python3-scipy); nothing here comes from our C# code.

  mne_dump.py dump FILE [VALUES_DIR]         JSON on stdout: channels (name, unit, own sample rate, samples), MNE's
                                             common rate, annotations (onset s, duration s, text), MNE's warnings;
                                             with VALUES_DIR, each signal's physical values to VALUES_DIR/<k>.f64
  mne_dump.py signal FILE NAME OUT.f64       one signal's physical values, at its own rate, in the file's unit
  mne_dump.py envelope FILE NAME OUTDIR [PARAMS.json]
                                             SciPy's reference chain (tests/reference/emg_reference.py "chain":
                                             band-pass Butterworth 20-450 Hz order 4 by sosfilt from rest, mains
                                             notch 50 Hz Q 30, RMS 100 ms, 50 Hz output, docs/signal-chain.md
                                             defaults; PARAMS.json overrides any of them) on that signal in uV;
                                             writes OUTDIR/{microvolts,filtered,rms,linear,mains}.f64, JSON on stdout

Physical values: MNE returns volts for "uV"/"µV"/"mV" signals and the file's number unchanged for every other unit
("V", "g", "", "Boolean"...); the factor is undone here, so values come back in the file's own unit. Always
stim_channel=None: MNE would otherwise mask a channel named "Status"/"Trigger" to 17 bits (a BDF trigger habit).

Mixed rates: MNE resamples every signal to the highest rate (scipy FFT resampling: not the file's values). When the
rates differ, each signal is read again alone (include=[name]); MNE's common rate is then that signal's own rate
and the values are the file's samples, calibrated by MNE, unresampled. Rates come from MNE's own header parse
(raw._raw_extras[0]["n_samps"] / record length).

Annotations are MNE's (read_raw_*(...).annotations, UTF-8); a TAL without a duration reads as duration 0 in MNE.
MNE joins EDF+D records back to back (it does not insert the gaps); the time-keeping TALs are not annotations.
"""
import json
import os
import sys
import warnings

try:
    import numpy as np
    import mne
except ImportError as error:
    sys.stderr.write("MNE reference unavailable: %s. Install Debian's python3-mne; the tests run /usr/bin/python3.\n" % error)
    sys.exit(3)

MICRO_UNITS = ("\u03bcV", "\u00b5V", "\x83\xcaV", "uV")  # the spellings MNE 1.x scales by 1e-6


def mne_factor(unit):
    """What MNE multiplied the file's numbers by (mne/io/edf/edf.py, _read_edf_header)."""
    if unit in MICRO_UNITS:
        return 1e-6
    if unit == "mV":
        return 1e-3
    return 1.0


def microvolts_per_unit(unit):
    if unit in MICRO_UNITS:
        return 1.0
    if unit == "mV":
        return 1e3
    if unit == "V":
        return 1e6
    raise SystemExit("signal unit %r is not a voltage" % unit)


def read(path, include=None):
    reader = mne.io.read_raw_bdf if path.lower().endswith(".bdf") else mne.io.read_raw_edf
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = reader(path, preload=True, stim_channel=None, include=include, verbose="error")
    return raw, [str(w.message) for w in caught]


def own_rates(raw):
    extras = raw._raw_extras[0]
    record = float(extras["record_length"][0])
    n_samps = np.asarray(extras["n_samps"])
    sel = np.asarray(extras["sel"])
    return [float(n_samps[i]) / record for i in sel], [int(n_samps[i]) for i in sel], record, int(extras["n_records"])


def header_units(path):
    """The physical dimension fields as written (MNE reports "uV" as "µV"), annotation signals included."""
    with open(path, "rb") as f:
        head = f.read(256)
        ns = int(head[252:256])
        signals = f.read(256 * ns)
    labels = [signals[16 * i:16 * i + 16].decode("latin-1").strip() for i in range(ns)]
    at = 96 * ns
    units = [signals[at + 8 * i:at + 8 * i + 8].decode("latin-1").strip() for i in range(ns)]
    return labels, units


def channels(path):
    """(raw, warnings, [dict per channel with values in the file's unit at its own rate])."""
    raw, caught = read(path)
    labels, file_units = header_units(path)
    sel = list(raw._raw_extras[0]["sel"])
    units = {name: file_units[i] for name, i in zip(raw.ch_names, sel)}
    if [labels[i] for i in sel] != raw.ch_names:
        raise SystemExit("MNE's channel names %s are not the header's labels %s" % (raw.ch_names, labels))
    factors = list(raw._raw_extras[0]["units"])
    rates, per_record, record, records = own_rates(raw)
    mixed = len(set(per_record)) > 1
    result = []
    for k, name in enumerate(raw.ch_names):
        unit = units.get(name, "")
        if mixed:
            alone, more = read(path, include=[name])
            caught.extend(more)
            if alone.ch_names != [name] or abs(alone.info["sfreq"] - rates[k]) > 1e-9:
                raise SystemExit("MNE did not read %r alone at %g Hz" % (name, rates[k]))
            data = alone.get_data()[0]
        else:
            data = raw.get_data(picks=[k])[0]
        if factors[k] != mne_factor(unit):
            raise SystemExit("MNE scaled %r (%r) by %g, expected %g" % (name, unit, factors[k], mne_factor(unit)))
        values = data / mne_factor(unit)
        if len(values) != per_record[k] * records:
            raise SystemExit("MNE gave %d samples of %r, the header says %d" % (len(values), name, per_record[k] * records))
        result.append({"name": name, "unit": unit, "sample_rate": rates[k], "samples_per_record": per_record[k],
                       "samples": int(len(values)), "mne_factor": mne_factor(unit), "values": values})
    return raw, caught, result, mixed, record, records


def annotations(raw):
    return [{"onset": float(a["onset"]), "duration": float(a["duration"]), "text": a["description"]}
            for a in raw.annotations]


def write_f64(path, values):
    np.ascontiguousarray(values, dtype="<f8").tofile(path)


def dump(path, values_dir=None):
    raw, caught, chans, mixed, record, records = channels(path)
    out = []
    for k, c in enumerate(chans):
        entry = {key: value for key, value in c.items() if key != "values"}
        if values_dir:
            entry["values_file"] = os.path.join(values_dir, "%d.f64" % k)
            write_f64(entry["values_file"], c["values"])
        entry["first"] = [float(v) for v in c["values"][:5]]
        out.append(entry)
    print(json.dumps({
        "file": path, "mne_version": mne.__version__, "sfreq": float(raw.info["sfreq"]), "mixed_rates": mixed,
        "record_duration": record, "records": records, "n_times": int(raw.n_times), "channels": out,
        "annotations": annotations(raw), "warnings": caught,
    }, ensure_ascii=False))


def one_signal(path, name):
    _, _, chans, _, _, _ = channels(path)
    for c in chans:
        if c["name"] == name:
            return c
    raise SystemExit("no signal %r in %s (have %s)" % (name, path, [c["name"] for c in chans]))


def envelope(path, name, out_dir, params_path=None):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import emg_reference  # the project's SciPy reference chain, reused as is

    c = one_signal(path, name)
    microvolts = c["values"] * microvolts_per_unit(c["unit"])
    fs = c["sample_rate"]
    p = {  # docs/signal-chain.md defaults
        "sample_rate_hz": fs, "channels": 1,
        # emg_reference converts counts as (count - offset) x reference_mv x 1000 / 2^bits / gain: 1 count = 1 uV
        "adc_bits": 0, "reference_mv": 1.0, "gains": [1000.0], "offsets": [0.0],
        "band_pass_low_hz": 20.0, "band_pass_high_hz": 450.0, "band_pass_order": 4,
        "mains_hz": 50.0, "notch_q": 30.0, "harmonics": None, "notch_design": "comb", "notch_enabled": True,
        "rms_window_ms": 100.0, "output_rate_hz": 50.0,
        "linear_enabled": False, "linear_cutoff_hz": 6.0, "linear_order": 2,
    }
    if params_path:
        p.update(json.load(open(params_path)))
        p["sample_rate_hz"] = fs
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "params.json"), "w") as f:
        json.dump(p, f)
    write_f64(os.path.join(out_dir, "microvolts.f64"), microvolts)
    emg_reference.chain(os.path.join(out_dir, "params.json"), os.path.join(out_dir, "microvolts.f64"), out_dir)
    rms = np.fromfile(os.path.join(out_dir, "rms.f64"), dtype="<f8")
    print(json.dumps({"signal": name, "unit": c["unit"], "sample_rate": fs, "samples": int(len(microvolts)),
                      "envelope_samples": int(len(rms)), "rms_max_uv": float(rms.max()) if len(rms) else None,
                      "params": p}, ensure_ascii=False))


def main(argv):
    if len(argv) >= 3 and argv[1] == "dump":
        dump(argv[2], argv[3] if len(argv) > 3 else None)
    elif len(argv) == 5 and argv[1] == "signal":
        write_f64(argv[4], one_signal(argv[2], argv[3])["values"])
    elif len(argv) in (5, 6) and argv[1] == "envelope":
        envelope(argv[2], argv[3], argv[4], argv[5] if len(argv) > 5 else None)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
