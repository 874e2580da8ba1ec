namespace EmgBiofeedback.Protocol;

/// <summary>What a sequence number says about the frames before it.</summary>
public enum SequenceVerdict
{
    /// <summary>The frame expected next (or the first one after re-anchoring without a gap).</summary>
    InOrder,
    /// <summary>Frames are missing before this one; their count is exact.</summary>
    Gap,
    /// <summary>A frame already seen, or one from the past: drop it.</summary>
    Duplicate,
    /// <summary>The counter went back after a discontinuity: the board restarted; the loss is unknown.</summary>
    Restarted,
}

/// <summary>
/// Follows the board's 32-bit sequence counter, comparing modulo 2^32 so a wrap is not a gap: a forward
/// distance below 2^31 is a gap, anything else is a frame from the past.
/// </summary>
public struct SequenceTracker
{
    private uint _expected;
    private bool _anchored;
    private bool _discontinuity;

    /// <summary>Sets the next expected number (from a HELLO), judging the jump from the old expectation.</summary>
    public SequenceVerdict Anchor(uint nextSequence, out uint lost) => Judge(nextSequence, out lost, isFrame: false);

    /// <summary>Judges one frame's number and, unless it is a duplicate, moves the expectation past it.</summary>
    public SequenceVerdict Observe(uint sequence, out uint lost) => Judge(sequence, out lost, isFrame: true);

    /// <summary>
    /// The link went down: the next number may come from a board that kept counting (a gap) or from one
    /// that restarted (a number from the past that is not a duplicate).
    /// </summary>
    public void MarkDiscontinuity() => _discontinuity = _anchored;

    /// <summary>A different source follows (a replay started or stopped): its first number is taken as is.</summary>
    public void ForgetAnchor()
    {
        _anchored = false;
        _discontinuity = false;
    }

    private SequenceVerdict Judge(uint sequence, out uint lost, bool isFrame)
    {
        lost = 0;
        uint step = isFrame ? 1u : 0u;
        if (!_anchored)
        {
            _anchored = true;
            _expected = sequence + step;
            return SequenceVerdict.InOrder;
        }
        uint distance = sequence - _expected;
        if (distance == 0)
        {
            _discontinuity = false;
            _expected = sequence + step;
            return SequenceVerdict.InOrder;
        }
        if (distance < 0x8000_0000u)
        {
            _discontinuity = false;
            _expected = sequence + step;
            lost = distance;
            return SequenceVerdict.Gap;
        }
        if (_discontinuity || !isFrame)
        {
            // A HELLO that names an earlier number, or the first frame after the link came back with one,
            // means the counter restarted: follow it.
            _discontinuity = false;
            _expected = sequence + step;
            return SequenceVerdict.Restarted;
        }
        return SequenceVerdict.Duplicate;
    }
}
