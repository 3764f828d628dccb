//! Any byte string given to the CSV results parser must yield `Ok` or a positioned error,
//! never a panic; when it parses, lookups and serialisation must not panic either.
#![no_main]

use cloudai_dynamo_rs::results;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match results::parse_csv(data, "fuzz.csv") {
        Ok(r) => {
            assert!(r.metrics().all(|m| !m.label.is_empty()));
            for key in results::MetricKey::ALL {
                let _ = r.key_value(key, None);
            }
            let _ = results::output_throughput_per_gpu(&r, 2, 8);
            let _ = serde_json::to_string(&r).expect("serialisable");
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.csv")),
    }
});
