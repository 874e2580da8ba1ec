"""One whole clinical session through the Sessions API, by Debian's python3-grpcio (message classes generated at run
time by protoc, as emg_client.py does): events subscribed first, signal check, rest, MVC per muscle, the patient's
stored calibration reused, targets, a saved protocol run to its end, a marker, stop.

Usage: clinical_session.py PROTO_ROOT TARGET PATIENT [--token T]; prints one JSON object on stdout: every call's
result and every event received, for the test to judge. Exits non-zero when a call fails.
"""
import argparse
import json
import os
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emg_client import generate  # noqa: E402  (one stub generator for every Python client)

LABELS = ["SCM L", "SCM R", "UT L", "UT R"]
PROTOCOL = dict(name="py-short", pre_baseline_seconds=2, trials=3, work_seconds=2, rest_seconds=2, post_baseline_seconds=2,
                work_instruction="Turn the head slowly", rest_instruction="Relax", baseline_instruction="Sit still")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("proto_root")
    p.add_argument("target")
    p.add_argument("patient")
    p.add_argument("--token", default="")
    p.add_argument("--settle-seconds", type=float, default=3)
    p.add_argument("--after-marker-seconds", type=float, default=2.5)
    a = p.parse_args()
    live, sessions = generate(a.proto_root)
    metadata = [("authorization", f"Bearer {a.token}")] if a.token else []
    channel = grpc.insecure_channel(a.target)
    out = {}
    try:
        run(a, live, sessions, channel, metadata, out)
    except grpc.RpcError as e:
        out["error"] = {"code": e.code().name, "details": e.details()}
        print(json.dumps(out))
        sys.exit(2)
    print(json.dumps(out))


def unary(channel, sessions, name, request, response, metadata, timeout=120):
    call = channel.unary_unary(f"/emg.v1.Sessions/{name}", request_serializer=request.SerializeToString,
                               response_deserializer=response.FromString)
    return call(request, metadata=metadata, timeout=timeout)


class Events:
    """Live.StreamEvents read on a thread: every event, as a dict, in arrival order."""

    def __init__(self, live, channel, metadata):
        self.items = []
        self.cond = threading.Condition()
        call = channel.unary_stream("/emg.v1.Live/StreamEvents", request_serializer=live.StreamEventsRequest.SerializeToString,
                                    response_deserializer=live.Event.FromString)
        self.stream = call(live.StreamEventsRequest(), metadata=metadata)
        self.live = live
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for e in self.stream:
                d = {"sequence": e.sequence, "kind": self.live.EventKind.Name(e.kind), "message": e.message, "label": e.label,
                     "phase": self.live.Phase.Name(e.phase), "trial": e.trial, "trials": e.trials, "seconds_left": e.seconds_left,
                     "instruction": e.instruction, "step_done": e.step_done, "sample_index": e.sample_index,
                     "refusals": [{"label": r.label, "reason": r.reason} for r in e.refusals]}
                with self.cond:
                    self.items.append(d)
                    self.cond.notify_all()
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                with self.cond:
                    self.items.append({"kind": "STREAM_ERROR", "message": f"{e.code().name}: {e.details()}"})
                    self.cond.notify_all()

    def wait_for(self, match, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(match(e) for e in self.items):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit(f"no {what} within {timeout} s; events: {json.dumps(self.items)}")
                self.cond.wait(left)

    def close(self):
        self.stream.cancel()
        self.thread.join(5)
        with self.cond:
            return list(self.items)


def calibration(result):
    return {"accepted": result.accepted, "refusals": [{"label": r.label, "reason": r.reason} for r in result.refusals],
            "calibrations": [muscle(m) for m in result.calibrations], "rest_uv": dict(result.rest_uv)}


def nanoseconds(message, field):
    """A Timestamp field as nanoseconds since 1970 (exact), or None when absent."""
    return getattr(message, field).ToNanoseconds() if message.HasField(field) else None


def muscle(m):
    return {"label": m.label, "rest_uv": m.rest_uv, "mvc_uv": m.mvc_uv, "method": m.method,
            "calibrated_at_ns": nanoseconds(m, "calibrated_at")}


def stored(s):
    return {"patient_code": s.patient_code, "saved_at_ns": nanoseconds(s, "saved_at"),
            "muscles": [muscle(m) for m in s.muscles]}


def run(a, live, s, channel, metadata, out):
    events = Events(live, channel, metadata)
    time.sleep(1)  # the subscription is in place before anything happens; SESSION_STARTED below proves it

    saved = unary(channel, s, "SaveProtocol", s.ProtocolTemplate(**PROTOCOL), s.ProtocolTemplate, metadata)
    out["protocol_saved"] = saved.name
    listed = unary(channel, s, "ListProtocols", s.ListProtocolsRequest(), s.ListProtocolsResponse, metadata)
    out["protocols"] = [t.name for t in listed.protocols]

    session = unary(channel, s, "StartSession", s.StartSessionRequest(patient_code=a.patient, montage_preset="default"), live.Session, metadata)
    out["session"] = {"session_id": session.session_id, "patient_code": session.patient_code, "montage_name": session.montage_name,
                      "stored_calibration_saved_at_ns": nanoseconds(session, "stored_calibration_saved_at")}
    events.wait_for(lambda e: e["kind"] == "EVENT_KIND_SESSION_STARTED", 10, "SESSION_STARTED event")
    time.sleep(a.settle_seconds)  # the signal chain restarts with the session: its filters settle, as electrodes would

    def calibrate(step, label=""):
        # The clinical layer starts with the session's first samples: retry the first call until it has them.
        deadline = time.monotonic() + 10
        while True:
            try:
                return calibration(unary(channel, s, "Calibrate", s.CalibrateRequest(step=step, label=label), s.CalibrationResult, metadata))
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.FAILED_PRECONDITION or "no signal yet" not in (e.details() or "") or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    out["signal_check"] = calibrate(s.CALIBRATION_STEP_SIGNAL_CHECK)
    out["rest"] = calibrate(s.CALIBRATION_STEP_REST)
    out["mvc"] = {label: calibrate(s.CALIBRATION_STEP_MVC, label) for label in LABELS}

    out["stored_before_reuse"] = stored(unary(channel, s, "GetStoredCalibration", s.GetStoredCalibrationRequest(), s.StoredCalibration, metadata))
    out["reused"] = stored(unary(channel, s, "ReuseCalibration", s.ReuseCalibrationRequest(), s.StoredCalibration, metadata))

    out["targets"] = [
        unary(channel, s, "SetTarget", s.SetTargetRequest(label="SCM L", direction=live.TARGET_DIRECTION_BELOW, level_pct=20), s.SetTargetResponse, metadata).annotation,
        unary(channel, s, "SetTarget", s.SetTargetRequest(label="SCM R", direction=live.TARGET_DIRECTION_ABOVE, level_pct=10), s.SetTargetResponse, metadata).annotation,
    ]

    out["protocol_running"] = unary(channel, s, "StartProtocol", s.StartProtocolRequest(name=PROTOCOL["name"]), s.ProtocolResponse, metadata).running
    total = PROTOCOL["pre_baseline_seconds"] + PROTOCOL["trials"] * (PROTOCOL["work_seconds"] + PROTOCOL["rest_seconds"]) + PROTOCOL["post_baseline_seconds"]
    events.wait_for(lambda e: e["kind"] == "EVENT_KIND_PROTOCOL_PHASE" and e["phase"] == "PHASE_DONE", total + 30, "PHASE_DONE event")

    marker = unary(channel, s, "AddMarker", s.AddMarkerRequest(label="sensory trick"), s.Marker, metadata)
    out["marker"] = {"label": marker.label, "sample_index": marker.sample_index}
    time.sleep(a.after_marker_seconds)  # signal after the marker, for its effect

    summary = unary(channel, s, "StopSession", s.StopSessionRequest(), s.SessionSummary, metadata)
    out["summary"] = {"summary_json": summary.summary_json, "recording_path": summary.recording_path, "summary_path": summary.summary_path,
                      "report_url": summary.report_url, "stopped": summary.stopped, "markers": summary.markers,
                      "activation_frames": summary.activation_frames}
    events.wait_for(lambda e: e["kind"] == "EVENT_KIND_SESSION_STOPPED", 10, "SESSION_STOPPED event")
    out["events"] = events.close()


if __name__ == "__main__":
    main()
