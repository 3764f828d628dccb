//! Any text given to the configuration loaders must yield a value or positioned diagnostics,
//! never a panic; a parsed test must also render without panicking.
#![no_main]

use cloudai_dynamo_rs::config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for result in [
        config::load_test_str(text, "fuzz.toml").map(|_| ()),
        config::load_system_str(text, "fuzz.toml").map(|_| ()),
        config::load_scenario_str(text, "fuzz.toml").map(|_| ()),
    ] {
        if let Err(e) = result {
            assert!(!e.diagnostics.is_empty());
            assert!(e.diagnostics.iter().all(|d| d.file == "fuzz.toml"));
        }
    }
});
