using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(EmgBiofeedback.Server.Benchmarks.FanOutEncodingBenchmarks).Assembly).Run(args);
