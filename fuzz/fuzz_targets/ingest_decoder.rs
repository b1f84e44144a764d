//! Fuzzes what the ingest route does with a request body: inflate (by the encoding the
//! first byte picks), decode JSON, cap, validate. Every input must end in a batch or a
//! 4xx, never a panic or a 5xx, and an accepted batch must decode and pass again once
//! re-encoded (what the store and any replay would see).

#![no_main]

use axum::body::Bytes;
use axum::http::HeaderValue;
use axum::response::IntoResponse;
use libfuzzer_sys::fuzz_target;
use perfscope_model::Limits;
use perfscope_server::batch_decoder::BatchDecoder;
use std::sync::LazyLock;

/// A fixed clock near the timestamps the seed corpus uses, so valid batches stay valid.
const NOW_MS: f64 = 1_700_000_000_000.0;

static DECODER: LazyLock<BatchDecoder> =
    LazyLock::new(|| BatchDecoder::new(&Limits::default(), 500, 8 * 1024, 1 << 20));

const ENCODINGS: [Option<&str>; 5] = [None, Some("gzip"), Some("br"), Some("identity"), Some("zstd")];

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let encoding = ENCODINGS[usize::from(*selector) % ENCODINGS.len()].map(HeaderValue::from_static);
    let decoded = DECODER
        .decode(encoding.as_ref(), Bytes::copy_from_slice(body))
        .and_then(|batch| DECODER.check(&batch, NOW_MS).map(|()| batch));
    match decoded {
        Ok(batch) => {
            let json = serde_json::to_vec(&batch).expect("a decoded batch serialises");
            let again = DECODER.decode(None, Bytes::from(json)).expect("round trip decodes");
            DECODER.check(&again, NOW_MS).expect("round trip still valid");
        }
        Err(err) => {
            let status = err.into_response().status();
            assert!(status.is_client_error(), "{status} for a client's input");
        }
    }
});
