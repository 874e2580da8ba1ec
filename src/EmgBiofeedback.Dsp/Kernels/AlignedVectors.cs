using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmgBiofeedback.Dsp.Kernels;

/// <summary>
/// A buffer of <see cref="Vector512{T}"/> whose first element sits on a 64-byte boundary. A managed array's data is
/// only 8- or 16-byte aligned, so every 512-bit access to it straddles two cache lines; where the GC happened to put
/// the arrays decided whether the kernel ran at full speed or about 30 % slower, from one process to the next
/// (measured: docs/performance.md, "Signal chain"). The storage is allocated on the pinned object heap, so it
/// never moves and the alignment found once holds.
/// </summary>
internal sealed class AlignedVectors
{
    private const int Alignment = 64;
    private const int DoublesPerVector = 8;

    private readonly double[] _storage;
    private readonly int _offset; // in doubles: the first element on a 64-byte boundary

    public AlignedVectors(int length)
    {
        Length = length;
        _storage = GC.AllocateArray<double>((length * DoublesPerVector) + DoublesPerVector - 1, pinned: true);
        long address = Marshal.UnsafeAddrOfPinnedArrayElement(_storage, 0).ToInt64();
        int misalignment = (int)(address % Alignment);
        Debug.Assert(misalignment % sizeof(double) == 0, "a double[]'s elements are 8-byte aligned on 64-bit runtimes");
        _offset = misalignment == 0 ? 0 : (Alignment - misalignment) / sizeof(double);
    }

    public int Length { get; }

    public Span<Vector512<double>> Span =>
        MemoryMarshal.Cast<double, Vector512<double>>(_storage.AsSpan(_offset, Length * DoublesPerVector));

    /// <summary>Element 0, for the kernels' unchecked loops (of an empty buffer: a reference never to be read).</summary>
    public ref Vector512<double> First =>
        ref Unsafe.As<double, Vector512<double>>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_storage), _offset));

    public ref Vector512<double> this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Length)
            {
                ThrowOutOfRange(index, Length);
            }
            return ref Unsafe.Add(ref First, index);
        }
    }

    [DoesNotReturn]
    private static void ThrowOutOfRange(int index, int length) =>
        throw new ArgumentOutOfRangeException(nameof(index), index, $"The buffer holds {length} vectors.");

    public Span<Vector512<double>> AsSpan(int start, int length) => Span.Slice(start, length);

    public void Clear() => Span.Clear();
}
