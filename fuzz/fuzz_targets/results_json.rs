//! Any byte string given to the JSON results parser must yield `Ok` or an error, never a panic.
#![no_main]

use cloudai_dynamo_rs::results;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match results::parse_json(data, "fuzz.json") {
        Ok(r) => {
            let _ = r.lookup("default", None);
            let _ = serde_json::to_string(&r).expect("serialisable");
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.json")),
    }
});
