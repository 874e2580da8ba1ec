#!/usr/bin/python3
"""End-to-end check of the firmware in the simulator, through the pty.

Starts build/emg_sim, reads its `PTY /dev/pts/N` line, opens the pty, decodes
frames (sync, CRC-16/CCITT-FALSE, resync after a bad CRC) and checks:
sequence continuity, every sample equal to the injected signal, and that
IDENTIFY / SET_RATE / SET_CHANNELS / STOP / START and malformed or unknown
commands are answered as docs/protocol.md says. Standard library only; run
with the system interpreter:

    /usr/bin/python3 firmware/sim/check_stream.py [--input FILE --input-bits 12] [--fast]

Exit status 0 when every check passed.
"""
import argparse
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import tty

TOL = int(os.environ.get("CHECK_TOL", "0"))   # allowed |error| in counts (the harness is exact)
HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(os.path.dirname(HERE), "build")

T_HELLO, T_SAMPLES, T_ACK, T_OVERFLOW = 0x01, 0x02, 0x03, 0x04
T_START, T_STOP, T_IDENTIFY, T_SET_RATE, T_SET_CHANNELS = 0x81, 0x82, 0x83, 0x84, 0x85


def crc16(data, crc=0xFFFF):
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


assert crc16(b"123456789") == 0x29B1


def frame(ftype, payload=b""):
    body = bytes([ftype, len(payload)]) + payload
    return b"\xa5\x5a" + body + struct.pack("<H", crc16(body))


def load_signal(path, bits):
    if not path:
        return list(range(1024))
    out = []
    with open(path) as f:
        for line in f:
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            v = int(s.split()[0]) >> max(0, bits - 10)
            out.append(min(max(v, 0), 1023))
    return out


class Decoder:
    """Frame decoder as docs/protocol.md describes it."""

    def __init__(self):
        self.buf = bytearray()
        self.crc_errors = 0

    def feed(self, data):
        self.buf += data
        frames = []
        while True:
            i = self.buf.find(b"\xa5\x5a")
            if i < 0:
                keep = self.buf[-1:] == b"\xa5"   # may be the first half of a sync
                self.buf = self.buf[-1:] if keep else bytearray()
                return frames
            del self.buf[:i]
            if len(self.buf) < 4:
                return frames
            n = self.buf[3]
            if len(self.buf) < 6 + n:
                return frames
            body = bytes(self.buf[2:4 + n])
            got = self.buf[4 + n] | (self.buf[5 + n] << 8)
            if crc16(body) != got:
                self.crc_errors += 1
                del self.buf[:1]
                continue
            frames.append((body[0], body[2:]))
            del self.buf[:6 + n]


class Board:
    def __init__(self, args):
        cmd = [args.harness, "--offset", str(args.offset), "--input-bits", str(args.input_bits)]
        if args.fast:
            cmd.append("--fast")
        if args.no_hw_trigger:
            cmd.append("--no-hw-trigger")
        if args.firmware:
            cmd += ["--firmware", args.firmware]
        if args.input:
            cmd.append(args.input)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("PTY "):
            raise SystemExit("harness did not print its PTY line: %r" % line)
        self.path = line[4:]
        self.fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY)
        # raw, without tty.setraw's TCSAFLUSH: that would discard the boot
        # HELLO already waiting in the pty
        tty.setraw(self.fd, termios.TCSANOW)
        self.dec = Decoder()
        self.pending = []

    def send(self, data):
        os.write(self.fd, data)

    def frames(self, seconds):
        """Yield frames for `seconds` of wall time."""
        end = time.monotonic() + seconds
        while True:
            while self.pending:
                yield self.pending.pop(0)
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                self.pending += self.dec.feed(os.read(self.fd, 65536))

    def close(self):
        os.close(self.fd)
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=10)
        return self.proc.returncode, err.decode()


class Checker:
    def __init__(self, signal_values, offset):
        self.sig = signal_values
        self.offset = offset
        self.nch = None
        self.rate = None
        self.last_seq = None
        self.samples = 0
        self.bad_values = 0
        self.max_err = 0
        self.gaps = 0
        self.overflow = 0
        self.failures = []
        self.shape_errors = 0

    def fail(self, msg):
        self.failures.append(msg)
        print("FAIL:", msg)

    def on_frame(self, ftype, p):
        if ftype == T_HELLO:
            ver, fw0, fw1, fw2, nch, rate, bits, vref, streaming, nseq = struct.unpack("<BBBBBHBHBI", p[:15])
            self.nch, self.rate = nch, rate
            return ("HELLO", dict(version=ver, fw=(fw0, fw1, fw2), channels=nch, rate=rate, bits=bits,
                                  vref=vref, streaming=streaming, next_seq=nseq, name=p[15:].decode()))
        if ftype == T_SAMPLES:
            seq = struct.unpack("<I", p[:4])[0]
            vals = struct.unpack("<%dH" % ((len(p) - 4) // 2), p[4:])
            if self.nch is not None and len(vals) != self.nch:
                self.shape_errors += 1
            if self.last_seq is not None and seq != (self.last_seq + 1) & 0xFFFFFFFF:
                self.gaps += 1
            self.last_seq = seq
            self.samples += 1
            for k, v in enumerate(vals):
                exp = self.sig[(seq + k * self.offset) % len(self.sig)]
                err = abs(v - exp)
                self.max_err = max(self.max_err, err)
                if err > TOL:
                    self.bad_values += 1
                    if self.bad_values <= 5 or self.bad_values % 20 == 0:
                        print("  value mismatch: seq %d ch %d got %d expected %d (%d channels)"
                              % (seq, k, v, exp, len(vals)))
            return ("SAMPLES", seq, vals)
        if ftype == T_ACK:
            return ("ACK", p[0], p[1])
        if ftype == T_OVERFLOW:
            self.overflow = struct.unpack("<I", p[:4])[0]
            return ("OVERFLOW", self.overflow)
        return ("?", ftype, p)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--harness", default=os.path.join(BUILD, "emg_sim"))
    ap.add_argument("--firmware")
    ap.add_argument("--input")
    ap.add_argument("--input-bits", type=int, default=10)
    ap.add_argument("--offset", type=int, default=1000)
    ap.add_argument("--fast", action="store_true", help="harness unpaced (default: real time)")
    ap.add_argument("--no-hw-trigger", action="store_true")
    ap.add_argument("--seconds", type=float, default=3.0, help="wall seconds of plain streaming first")
    args = ap.parse_args()

    sig = load_signal(args.input, args.input_bits)
    board = Board(args)
    ck = Checker(sig, args.offset)
    print("pty:", board.path)

    def collect(seconds):
        out = []
        for f in board.frames(seconds):
            out.append(ck.on_frame(*f))
        return out

    def expect_ack(events, cmd, result):
        acks = [e for e in events if e[0] == "ACK" and e[1] == cmd]
        if not acks:
            ck.fail("no ACK for 0x%02x" % cmd)
        elif acks[0][2] != result:
            ck.fail("ACK for 0x%02x: result %d, expected %d" % (cmd, acks[0][2], result))
        return acks

    def hellos(events):
        return [e[1] for e in events if e[0] == "HELLO"]

    def samples(events):
        return [e for e in events if e[0] == "SAMPLES"]

    # 1. plain streaming, default shape (the boot HELLO is buffered in the pty)
    t0 = time.monotonic()
    ev = collect(args.seconds)
    wall = time.monotonic() - t0
    h = hellos(ev)
    if not h:
        ck.fail("no boot HELLO")
    else:
        print("boot HELLO:", h[0])
        if h[0]["next_seq"] != 0 or h[0]["channels"] != 8 or h[0]["rate"] != 1000 or h[0]["name"] != "uno":
            ck.fail("unexpected boot HELLO %r" % h[0])
    s = samples(ev)
    print("streaming: %d SAMPLES frames in %.2f s wall (%.0f/s), seq %d..%d"
          % (len(s), wall, len(s) / wall, s[0][1] if s else -1, s[-1][1] if s else -1))
    if not s or s[0][1] != 0:
        ck.fail("first SAMPLES frame is not seq 0")

    # 2. IDENTIFY: HELLO whose next_seq is the seq of the next SAMPLES frame
    board.send(frame(T_IDENTIFY))
    ev = collect(0.3)
    idx = [i for i, e in enumerate(ev) if e[0] == "HELLO"]
    if not idx:
        ck.fail("no HELLO after IDENTIFY")
    else:
        nxt = next((e for e in ev[idx[0]:] if e[0] == "SAMPLES"), None)
        hh = ev[idx[0]][1]
        print("IDENTIFY -> HELLO next_seq=%d, next SAMPLES seq=%s" % (hh["next_seq"], nxt and nxt[1]))
        if nxt and nxt[1] != hh["next_seq"]:
            ck.fail("HELLO next_seq %d but next SAMPLES %d" % (hh["next_seq"], nxt[1]))

    # 3. SET_RATE 500: ACK 0, HELLO rate 500, frames at 500/s
    board.send(frame(T_SET_RATE, struct.pack("<H", 500)))
    ev = collect(0.3)
    expect_ack(ev, T_SET_RATE, 0)
    h = hellos(ev)
    if not h or h[0]["rate"] != 500:
        ck.fail("no HELLO with rate 500 after SET_RATE")
    t0 = time.monotonic()
    ev = collect(2.0)
    n = len(samples(ev))
    print("SET_RATE 500: %d frames in %.2f s" % (n, time.monotonic() - t0))

    # 4. SET_CHANNELS 4: ACK 0, HELLO channels 4, 4-channel frames after it
    board.send(frame(T_SET_CHANNELS, bytes([4])))
    ev = collect(0.5)
    expect_ack(ev, T_SET_CHANNELS, 0)
    h = hellos(ev)
    if not h or h[0]["channels"] != 4:
        ck.fail("no HELLO with 4 channels after SET_CHANNELS")
    widths = {len(e[2]) for e in ev[[i for i, e in enumerate(ev) if e[0] == "HELLO"][0]:] if e[0] == "SAMPLES"} if h else set()
    print("SET_CHANNELS 4: frame widths after HELLO:", widths)
    if widths != {4}:
        ck.fail("frames after the 4-channel HELLO have widths %r" % widths)

    # 5. ranges and malformed / unknown commands
    for payload, what in ((struct.pack("<H", 5000), "SET_RATE 5000 @4ch"), (struct.pack("<H", 0), "SET_RATE 0")):
        board.send(frame(T_SET_RATE, payload))
        expect_ack(collect(0.3), T_SET_RATE, 2)
        print(what, "-> ACK 2")
    for n_ch in (0, 9, 16):
        board.send(frame(T_SET_CHANNELS, bytes([n_ch])))
        expect_ack(collect(0.3), T_SET_CHANNELS, 2)
    board.send(frame(T_SET_RATE, struct.pack("<H", 2000)))        # 4 x 2000: fits
    expect_ack(collect(0.3), T_SET_RATE, 0)
    board.send(frame(T_SET_CHANNELS, bytes([8])))                  # 8 x 2000: ADC cannot
    expect_ack(collect(0.3), T_SET_CHANNELS, 2)
    board.send(frame(T_SET_RATE, b"\x01"))
    expect_ack(collect(0.3), T_SET_RATE, 3)
    board.send(frame(T_START, b"\x00"))
    expect_ack(collect(0.3), T_START, 3)
    board.send(frame(0x90))
    expect_ack(collect(0.3), 0x90, 1)
    # garbage, a false sync and a corrupted frame, then a good IDENTIFY
    bad = bytearray(frame(T_IDENTIFY))
    bad[-1] ^= 0xFF
    board.send(b"\x00\xa5\x13\xa5\x5a\x11" + bytes(bad) + frame(T_IDENTIFY))
    ev = collect(0.3)
    if len(hellos(ev)) != 1:
        ck.fail("expected exactly one HELLO after garbage + bad frame + IDENTIFY, got %d" % len(hellos(ev)))
    print("malformed/unknown/garbage handled")

    # 6. back to 8 x 1000, then STOP: nothing after the ACK; START: sequence goes on
    board.send(frame(T_SET_RATE, struct.pack("<H", 1000)))
    board.send(frame(T_SET_CHANNELS, bytes([8])))
    ev = collect(0.5)
    board.send(frame(T_STOP))
    ev = collect(0.5)
    acks = [i for i, e in enumerate(ev) if e[0] == "ACK" and e[1] == T_STOP]
    if not acks:
        ck.fail("no ACK for STOP")
    elif samples(ev[acks[0]:]):
        ck.fail("SAMPLES after the STOP ACK")
    last = ck.last_seq
    ev = collect(0.5)
    if samples(ev):
        ck.fail("SAMPLES while stopped")
    board.send(frame(T_IDENTIFY))
    h = hellos(collect(0.3))
    if not h or h[0]["streaming"] != 0 or h[0]["next_seq"] != (last + 1):
        ck.fail("HELLO while stopped: %r (last seq %s)" % (h, last))
    board.send(frame(T_START))
    ev = collect(1.0)
    expect_ack(ev, T_START, 0)
    s = samples(ev)
    if not s or s[0][1] != last + 1:
        ck.fail("after START, first seq %s, expected %d" % (s and s[0][1], last + 1))
    print("STOP/START: stopped after seq %d, resumed at %s" % (last, s and s[0][1]))

    rc, err = board.close()
    print("harness exit status %d; %s" % (rc, [l for l in err.splitlines() if l.startswith("STATS")][-1:]))
    if rc != 0:
        ck.fail("harness exit status %d" % rc)

    print("SAMPLES frames %d, sequence gaps %d (expected 0), value errors (|error| > %d) %d, max |error| %d, "
          "CRC errors %d, OVERFLOW count %d, width mismatches %d"
          % (ck.samples, ck.gaps, TOL, ck.bad_values, ck.max_err, board.dec.crc_errors, ck.overflow, ck.shape_errors))
    if ck.gaps or ck.bad_values or board.dec.crc_errors or ck.overflow or ck.shape_errors:
        ck.fail("stream errors")
    print("OK" if not ck.failures else "FAILED: %d" % len(ck.failures))
    return 0 if not ck.failures else 1


if __name__ == "__main__":
    sys.exit(main())
