#!/bin/sh
# Builds the foreign fixtures by hand (the tests do the same through Support/ForeignFiles.cs, cached in /tmp):
#   tests/reference/edflib/make_all.sh OUTDIR
# compiles make_files.c and check_file.c against Debian's libedf-dev, writes every fixture and its sidecar to OUTDIR,
# then has EDFlib's strict reader (check_file) and MNE (../mne_dump.py, Debian's /usr/bin/python3) read each one.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: make_all.sh OUTDIR}
mkdir -p "$out"
gcc -O1 -std=c11 -Wall -o "$out/make_files" "$here/make_files.c" -ledf -lm
gcc -O1 -std=c11 -Wall -o "$out/check_file" "$here/check_file.c" -ledf
for name in $("$out/make_files" "$out"); do
    if "$out/check_file" "$out/$name" > "$out/$name.edflib.json"; then edflib=accepted; else edflib=refused; fi
    /usr/bin/python3 "$here/../mne_dump.py" dump "$out/$name" > "$out/$name.mne.json"
    echo "$name: EDFlib $edflib, MNE ok"
done
