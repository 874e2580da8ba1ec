// These tests stream in real time through pseudo-terminals; running them one at a time keeps the two
// cores free for the stream, so a late wake-up of the test process cannot pass for a lost frame.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
