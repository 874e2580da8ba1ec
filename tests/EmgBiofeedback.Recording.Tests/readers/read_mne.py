"""Reads a BDF+ file with MNE-Python and prints what the tests compare, as JSON on stdout."""
import json
import sys
import warnings

import mne

path = sys.argv[1]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    raw = mne.io.read_raw_bdf(path, preload=True, verbose="error")
data = raw.get_data() * 1e6  # MNE returns volts; the file's unit is uV
print(json.dumps({
    "sfreq": raw.info["sfreq"],
    "ch_names": raw.ch_names,
    "n_times": int(raw.n_times),
    "data": data.tolist(),
    "annotations": [{"onset": float(a["onset"]), "duration": float(a["duration"]), "description": a["description"]}
                    for a in raw.annotations],
    "subject": raw.info.get("subject_info"),
    "warnings": [str(w.message) for w in caught],
}, default=str))
