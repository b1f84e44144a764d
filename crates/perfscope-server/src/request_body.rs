//! Request bodies sent with `Content-Encoding: gzip` or `br`, inflated with a hard cap
//! so that a small compressed body cannot expand into unbounded memory.

use crate::error::AppError;
use axum::body::Bytes;
use axum::http::HeaderValue;
use std::io::Read;

/// Returns the body as sent when it is not encoded, or inflated, refusing more than
/// `max_decoded` bytes of output: inflation stops there, whatever the input claims.
pub fn decode(
    content_encoding: Option<&HeaderValue>,
    body: Bytes,
    max_decoded: usize,
) -> Result<Bytes, AppError> {
    let encoding = match content_encoding {
        None => return Ok(body),
        Some(value) => value
            .to_str()
            .map_err(|_| AppError::UnsupportedEncoding("(not ASCII)".into()))?
            .trim()
            .to_ascii_lowercase(),
    };
    match encoding.as_str() {
        "" | "identity" => Ok(body),
        "gzip" | "x-gzip" => inflate(flate2::read::GzDecoder::new(&body[..]), max_decoded),
        "br" => inflate(
            brotli_decompressor::Decompressor::new(&body[..], 4096),
            max_decoded,
        ),
        other => Err(AppError::UnsupportedEncoding(other.to_string())),
    }
}

fn inflate(decoder: impl Read, max_decoded: usize) -> Result<Bytes, AppError> {
    let mut out = Vec::new();
    // One byte past the cap tells "exactly at the limit" from "over it".
    decoder
        .take(max_decoded as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|err| AppError::BadRequest(format!("body does not decompress: {err}")))?;
    if out.len() > max_decoded {
        return Err(AppError::DecodedTooLarge { limit: max_decoded });
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Bytes {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        Bytes::from(encoder.finish().unwrap())
    }

    fn brotli(data: &[u8]) -> Bytes {
        let mut out = Vec::new();
        {
            let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            writer.write_all(data).unwrap();
        }
        Bytes::from(out)
    }

    fn header(value: &'static str) -> HeaderValue {
        HeaderValue::from_static(value)
    }

    #[test]
    fn plain_gzip_and_brotli_bodies_decode_to_the_same_bytes() {
        let json = br#"{"site":"demo"}"#;
        let plain = decode(None, Bytes::from_static(json), 100).unwrap();
        let gz = decode(Some(&header("gzip")), gzip(json), 100).unwrap();
        let br = decode(Some(&header("br")), brotli(json), 100).unwrap();
        let identity = decode(Some(&header("identity")), Bytes::from_static(json), 100).unwrap();
        assert_eq!(plain.as_ref(), json);
        assert_eq!(gz, plain);
        assert_eq!(br, plain);
        assert_eq!(identity, plain);
    }

    #[test]
    fn a_decompression_bomb_stops_at_the_cap() {
        // 16 MiB of zeros compresses to a few KiB in both formats.
        let zeros = vec![0u8; 16 << 20];
        for (encoding, body) in [("gzip", gzip(&zeros)), ("br", brotli(&zeros))] {
            assert!(body.len() < 64 << 10, "{encoding}: {} bytes", body.len());
            let err = decode(Some(&header(encoding)), body, 1 << 20).unwrap_err();
            assert!(
                matches!(err, AppError::DecodedTooLarge { limit } if limit == 1 << 20),
                "{encoding}: {err:?}"
            );
        }
        let exact = vec![b'a'; 1 << 20];
        assert_eq!(
            decode(Some(&header("gzip")), gzip(&exact), 1 << 20)
                .unwrap()
                .len(),
            1 << 20
        );
    }

    #[test]
    fn corrupt_and_unknown_encodings_are_client_errors() {
        let err = decode(Some(&header("gzip")), Bytes::from_static(b"not gzip"), 100).unwrap_err();
        assert!(matches!(err, AppError::BadRequest(_)), "{err:?}");
        let err = decode(
            Some(&header("br")),
            Bytes::from_static(b"\xff\xff\xff"),
            100,
        )
        .unwrap_err();
        assert!(matches!(err, AppError::BadRequest(_)), "{err:?}");
        let err = decode(Some(&header("zstd")), Bytes::from_static(b"x"), 100).unwrap_err();
        assert!(
            matches!(err, AppError::UnsupportedEncoding(ref e) if e == "zstd"),
            "{err:?}"
        );
    }
}
