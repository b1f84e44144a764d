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

/// Accepts what a tracker sends (`text/plain`, which needs no CORS preflight) and what
/// an API client would (`application/json`), in UTF-8; no header at all is treated as
/// JSON. Anything else is refused before the body is read.
pub fn check_content_type(content_type: Option<&HeaderValue>) -> Result<(), AppError> {
    let Some(value) = content_type else {
        return Ok(());
    };
    let refused =
        || AppError::UnsupportedContentType(String::from_utf8_lossy(value.as_bytes()).into_owned());
    let value = value.to_str().map_err(|_| refused())?.to_ascii_lowercase();
    let mut parts = value.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default();
    if !matches!(essence, "text/plain" | "application/json") {
        return Err(refused());
    }
    for parameter in parts.filter(|p| !p.is_empty()) {
        match parameter.split_once('=') {
            Some(("charset", charset)) if matches!(charset.trim_matches('"'), "utf-8" | "utf8") => {
            }
            _ => return Err(refused()),
        }
    }
    Ok(())
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
    fn only_utf8_text_or_json_content_types_pass() {
        assert!(check_content_type(None).is_ok());
        for ok in [
            "text/plain",
            "text/plain;charset=UTF-8",
            "Application/JSON; charset=\"utf-8\"",
        ] {
            assert!(check_content_type(Some(&header(ok))).is_ok(), "{ok}");
        }
        for bad in [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/plain; charset=utf-16",
            "text/html",
            "application/json; foo=bar",
            "",
        ] {
            assert!(
                matches!(
                    check_content_type(Some(&header(bad))),
                    Err(AppError::UnsupportedContentType(_))
                ),
                "{bad}"
            );
        }
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
