"""What the tests and the benchmarks share, with no side effects on import: the paths of
the recorded captures, a WebSocket client of the protocol, the word error rate, and
harnesses that run the real handlers over moto with fakes at the SDK boundary."""
