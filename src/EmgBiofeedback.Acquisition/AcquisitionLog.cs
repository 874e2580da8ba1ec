using Microsoft.Extensions.Logging;

namespace EmgBiofeedback.Acquisition;

internal static partial class AcquisitionLog
{
    [LoggerMessage(1, LogLevel.Information, "Connected to {Link}")]
    public static partial void Connected(ILogger logger, string link);

    [LoggerMessage(2, LogLevel.Warning, "Lost {Link}: {Reason}")]
    public static partial void Disconnected(ILogger logger, string link, string reason);

    [LoggerMessage(3, LogLevel.Warning, "Cannot reach {Link} (attempt {Attempt}, next in {Delay}): {Reason}")]
    public static partial void ConnectFailed(ILogger logger, string link, int attempt, TimeSpan delay, string reason);

    [LoggerMessage(4, LogLevel.Information, "Board {Name} firmware {Firmware}: {Channels} ch x {Rate} Hz, {Bits}-bit ADC, Vref {Millivolts} mV")]
    public static partial void BoardIdentified(ILogger logger, string name, string firmware, int channels, int rate, int bits, int millivolts);

    [LoggerMessage(5, LogLevel.Warning, "Gap: {Lost} sample instants lost before sample {NextSampleIndex} ({Cause}{Estimated})")]
    public static partial void Gap(ILogger logger, long lost, long nextSampleIndex, GapCause cause, string estimated);

    [LoggerMessage(6, LogLevel.Warning, "The board's buffer overflowed: {Dropped} sample instants dropped on the board since it booted")]
    public static partial void BoardOverflow(ILogger logger, uint dropped);

    [LoggerMessage(7, LogLevel.Warning, "The board rejected {Command}: {Result}")]
    public static partial void CommandRejected(ILogger logger, string command, string result);

    [LoggerMessage(8, LogLevel.Warning, "No HELLO from the board {Seconds} s after connecting: is the firmware flashed and the baud rate {Link} right? Asking again (IDENTIFY) until it answers")]
    public static partial void NoHello(ILogger logger, int seconds, string link);
}
