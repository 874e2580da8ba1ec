"""A gRPC client nobody on this project wrote the library of: Debian's python3-grpcio, with message
classes generated at run time by protoc from the project's .proto files.

Usage: emg_client.py PROTO_ROOT TARGET COMMAND [options]; prints one JSON object on stdout.
Commands:
  activation --seconds S [--rate R] [--channels 0,1]   stream activation frames for S seconds
  status                                               Live.GetStatus
  start-session CODE                                   Sessions.StartSession
  stop-session                                         Sessions.StopSession
Options: --token T sends "authorization: Bearer T".
"""
import argparse
import glob
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

import grpc


def generate(proto_root):
    out = tempfile.mkdtemp(prefix="emg-py-")
    protos = sorted(glob.glob(os.path.join(proto_root, "emg", "v1", "*.proto")))
    subprocess.run(["protoc", f"--proto_path={proto_root}", f"--python_out={out}", *protos], check=True)
    for d in ("emg", os.path.join("emg", "v1")):
        open(os.path.join(out, d, "__init__.py"), "a").close()
    sys.path.insert(0, out)
    return importlib.import_module("emg.v1.live_pb2"), importlib.import_module("emg.v1.sessions_pb2")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("proto_root")
    p.add_argument("target")
    p.add_argument("command")
    p.add_argument("arg", nargs="?")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--rate", type=int, default=0)
    p.add_argument("--channels", default="")
    p.add_argument("--token", default="")
    a = p.parse_args()
    live, sessions = generate(a.proto_root)
    metadata = [("authorization", f"Bearer {a.token}")] if a.token else []
    channel = grpc.insecure_channel(a.target)
    try:
        result = run(a, live, sessions, channel, metadata)
    except grpc.RpcError as e:
        result = {"code": e.code().name, "details": e.details()}
    print(json.dumps(result))


def run(a, live, sessions, channel, metadata):
    if a.command == "activation":
        call = channel.unary_stream("/emg.v1.Live/StreamActivation",
                                    request_serializer=live.StreamActivationRequest.SerializeToString,
                                    response_deserializer=live.ActivationFrame.FromString)
        request = live.StreamActivationRequest(rate_hz=a.rate, channels=[int(c) for c in a.channels.split(",") if c])
        stream = call(request, metadata=metadata)
        frames, jumps, missed, first, last, labels, sizes = 0, 0, 0, None, None, [], set()
        start = None
        for frame in stream:
            now = time.monotonic()
            if start is None:
                start = now
            elif now - start >= a.seconds:
                stream.cancel()
                break
            if last is not None and frame.sequence != last + 1:
                jumps += 1
            first = frame.sequence if first is None else first
            last = frame.sequence
            missed += frame.missed_before
            frames += 1
            sizes.add(len(frame.muscles))
            labels = [m.label for m in frame.muscles]
        elapsed = (time.monotonic() - start) if start else 0
        return {"code": "OK", "frames": frames, "first": first, "last": last, "jumps": jumps, "missed": missed,
                "seconds": elapsed, "rate": frames / elapsed if elapsed else 0, "labels": labels, "muscle_counts": sorted(sizes)}
    if a.command == "status":
        call = channel.unary_unary("/emg.v1.Live/GetStatus", request_serializer=live.GetStatusRequest.SerializeToString,
                                   response_deserializer=live.Status.FromString)
        s = call(live.GetStatusRequest(), metadata=metadata)
        return {"code": "OK", "connected": s.connected, "channels": s.board.channel_count, "rate": s.board.sample_rate_hz,
                "dropped": s.counters.dropped_subscriber_frames, "subscribers": s.activation_subscribers}
    if a.command == "start-session":
        call = channel.unary_unary("/emg.v1.Sessions/StartSession", request_serializer=sessions.StartSessionRequest.SerializeToString,
                                   response_deserializer=live.Session.FromString)
        s = call(sessions.StartSessionRequest(patient_code=a.arg), metadata=metadata)
        return {"code": "OK", "session_id": s.session_id}
    if a.command == "stop-session":
        call = channel.unary_unary("/emg.v1.Sessions/StopSession", request_serializer=sessions.StopSessionRequest.SerializeToString,
                                   response_deserializer=sessions.SessionSummary.FromString)
        s = call(sessions.StopSessionRequest(), metadata=metadata)
        return {"code": "OK", "frames": s.activation_frames}
    raise SystemExit(f"unknown command {a.command}")


if __name__ == "__main__":
    main()
