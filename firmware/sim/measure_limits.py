#!/usr/bin/python3
"""Which channels x rate does the board sustain at 500000 baud?

Runs build/emg_sim (unpaced) with the range checks compiled out
(build/emg_board_nolimits.elf, `make -C firmware nolimits`), sets each
configuration and counts, over SECONDS of simulated time, SAMPLES frames,
sequence gaps, OVERFLOW reports and wrong sample values.

    /usr/bin/python3 firmware/sim/measure_limits.py [--seconds 5] [8x1000 8x1200 ...]
"""
import argparse
import os
import select
import struct
import subprocess
import sys
import termios
import time
import tty

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_stream import BUILD, Decoder, frame, T_SET_RATE, T_SET_CHANNELS, T_HELLO, T_SAMPLES, T_OVERFLOW  # noqa: E402

DEFAULT = ["8x1000", "8x1100", "8x1150", "8x1200", "7x1300", "6x1400", "6x1500", "6x1600",
           "5x1800", "4x2000", "4x2300", "4x2400", "3x2800", "2x3500", "1x4000", "1x4500"]


def run(nch, rate, seconds, extra):
    cmd = [os.path.join(BUILD, "emg_sim"), "--fast", "--firmware",
           os.path.join(BUILD, "emg_board_nolimits.elf")] + extra
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    path = p.stdout.readline().decode().split()[1]
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd, termios.TCSANOW)
    os.write(fd, frame(T_SET_CHANNELS, bytes([nch])) + frame(T_SET_RATE, struct.pack("<H", rate)))
    dec = Decoder()
    started = None      # after the HELLO that announces nch x rate
    first_seq = last_seq = None
    frames = gaps = bad = 0
    overflow0 = overflow = None
    t_end = None
    while True:
        r, _, _ = select.select([fd], [], [], 1.0)
        if not r:
            break
        for ftype, pl in dec.feed(os.read(fd, 65536)):
            if ftype == T_HELLO:
                _, _, _, _, c, rr = struct.unpack("<BBBBBH", pl[:7])
                if (c, rr) == (nch, rate):
                    started = True
            elif ftype == T_OVERFLOW:
                v = struct.unpack("<I", pl)[0]
                if started:
                    overflow = v
                else:
                    overflow0 = v
            elif ftype == T_SAMPLES and started:
                seq = struct.unpack("<I", pl[:4])[0]
                vals = struct.unpack("<%dH" % nch, pl[4:])
                if first_seq is None:
                    first_seq = seq
                    t_end = seq + int(seconds * rate)
                elif seq != last_seq + 1:
                    gaps += 1
                last_seq = seq
                frames += 1
                for k, v in enumerate(vals):
                    if v != (seq + k * 1000) % 1024:
                        bad += 1
        if t_end is not None and last_seq is not None and last_seq >= t_end:
            break
    os.close(fd)
    p.terminate()
    _, err = p.communicate(timeout=10)
    stats = [l for l in err.decode().splitlines() if l.startswith("STATS")]
    lost = (overflow or 0) - (overflow0 or 0)
    return frames, gaps, lost, bad, (last_seq - first_seq + 1) if first_seq is not None else 0, stats[-1] if stats else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0, help="simulated seconds per configuration")
    ap.add_argument("--uart-bits", default="10")
    ap.add_argument("configs", nargs="*", default=DEFAULT)
    a = ap.parse_args()
    print("%-8s %8s %8s %6s %9s %7s  %s" % ("config", "instants", "frames", "gaps", "overflow", "badval", "line use"))
    for c in a.configs:
        n, r = (int(x) for x in c.split("x"))
        frames, gaps, lost, bad, span, stats = run(n, r, a.seconds, ["--uart-bits", a.uart_bits])
        line = (10 + 2 * n) * 10 * r / 500000.0
        verdict = "ok" if frames and not gaps and not lost and not bad else "LOSS"
        print("%-8s %8d %8d %6d %9d %7d  %4.0f%%  %s" % (c, span, frames, gaps, lost, bad, 100 * line, verdict))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
