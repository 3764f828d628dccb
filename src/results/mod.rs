//! Parsing of genai-perf and aiperf result files.
