//! Feeds arbitrary bytes to the parsers Confab owns: cursors, join codes, message metadata,
//! search terms, bearer headers. None may panic; each either accepts or refuses with a coded
//! error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = confab::graphql::types::cursor::decode("after", Some(&text));
    let _ = confab::graphql::types::cursor::decode_offset("after", Some(&text));
    if let Ok(code) = confab::service::room::join_code(&text) {
        assert_eq!(code.len(), confab::service::room::JOIN_CODE_LEN);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = confab::service::message::metadata(value);
    }
    let _ = confab::service::search::terms(&text);
    let _ = confab::auth::bearer(&text);
});
